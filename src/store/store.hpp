// Owns the HDF5 result file: collective creation sized for the plan, independent per-unit
// writes, reading back, and resume checks. Needs parallel HDF5 and MPI; no Torch.
// Collective calls are marked; everything else may be called by one rank alone.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "train/train.hpp"

namespace sweep::store {

// Stored as an HDF5 enum, so h5dump prints the names.
enum class Status : int8_t { kPending = 0, kDone = 1, kFailed = 2 };

// What the file keeps of each data set: sizes on every rank; the test split itself only
// on rank 0, which writes it once so that the report needs no data directory.
struct DatasetInfo {
    int64_t train_count = 0;  // training images in the data set's files
    int64_t test_count = 0;
    int classes = 0;
    int channels = 1, rows = 28, cols = 28;
    std::vector<std::string> class_names;
    std::string sha256sums;            // "digest  file" per data file, as sha256sum prints them
    std::vector<uint8_t> test_labels;  // test_count labels, rank 0 only
    std::vector<uint8_t> test_pixels;  // test_count × channels × rows × cols, rank 0 only
};
using DatasetInfos = std::map<std::string, DatasetInfo>;

// Per-unit outcome written by the worker that ran it.
struct Outcome {
    double final_test_accuracy = 0;  // fraction in [0, 1]
    double final_test_loss = 0;      // nats per image
    double seconds = 0;              // wall time of the unit
    int rank = 0;                    // MPI_COMM_WORLD rank of the worker
    int local_rank = 0;              // its rank among the MPI ranks of its node
    std::string host;
    std::string device;           // "cuda:N" or "cpu (T threads)"
    std::string visible_devices;  // CUDA_VISIBLE_DEVICES as the worker saw it, or "(unset)"
    std::string error;            // empty unless the unit failed
};

// Root attributes the caller adds (Torch and MPI versions); the store writes its own:
// format, plan hash, study YAML, sweep and HDF5 versions, git commit, creation time.
using Provenance = std::map<std::string, std::string>;

// A result file open for a run on all ranks of a communicator.
class RunFile {
public:
    // Collective. Creates `path` sized for `study` when it does not exist, else opens it
    // after checking that it was made from the same plan (refused, untouched, otherwise).
    RunFile(const std::string& path, const plan::Study& study, const DatasetInfos& datasets,
            const Provenance& provenance, MPI_Comm comm);
    ~RunFile();  // collective, like close()
    RunFile(const RunFile&) = delete;
    RunFile& operator=(const RunFile&) = delete;

    bool created() const { return created_; }
    // Status of every unit, as read when the file was opened.
    const std::vector<Status>& initial_status() const { return initial_status_; }

    // Independent: writes one unit's data, then its outcome, then its status (last).
    void write_done(int64_t index, const train::UnitResult& result, const Outcome& outcome);
    void write_failed(int64_t index, const Outcome& outcome);

    void close();  // collective

private:
    void create(const plan::Study& study, const DatasetInfos& datasets,
                const Provenance& provenance);
    void write_outcome(int64_t index, const Outcome& outcome, Status status);

    std::string path_;
    MPI_Comm comm_;
    int64_t file_ = -1;  // hid_t
    bool created_ = false;
    std::vector<Status> initial_status_;
};

// One unit's stored learning curve and final test outputs, as read back.
struct UnitData {
    std::vector<train::EpochRecord> curves;
    std::vector<int64_t> confusion;
    std::vector<int64_t> noise_counts;
    std::vector<int16_t> predictions;
    std::vector<float> scores;
};

// Read-only, serial access for the report and the tests; needs no MPI_Init.
class ResultReader {
public:
    explicit ResultReader(const std::string& path);
    ~ResultReader();
    ResultReader(const ResultReader&) = delete;
    ResultReader& operator=(const ResultReader&) = delete;

    std::string attribute(const std::string& name) const;
    std::vector<plan::Unit> units() const;
    std::vector<Status> status() const;
    std::vector<Outcome> outcomes() const;
    UnitData unit_data(int64_t index) const;
    // The data sets the file holds, with their test splits (labels and pixels).
    std::vector<std::string> dataset_names() const;
    DatasetInfo dataset(const std::string& name) const;

private:
    std::string path_;
    int64_t file_ = -1;
};

// The plan hash a file was made from, or "" when the file does not exist. Throws StoreError
// when it exists but is not a sweep result file. Serial; needs no MPI.
std::string stored_plan_hash(const std::string& path);

const char* status_name(Status status);

}  // namespace sweep::store
