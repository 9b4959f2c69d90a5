// Owns one work unit's training: seeds, label noise, the loop, evaluation, a UnitResult.
// Needs LibTorch inside train.cpp only; this header is plain C++ so callers build fast.
// Not safe across threads: Torch's thread pool and global seed are per process.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/data.hpp"
#include "plan/plan.hpp"

namespace sweep::train {

// One row of a learning curve. Accuracies are fractions in [0, 1]; losses are mean
// cross-entropy in nats per image; seconds are wall time of the epoch's training and test.
struct EpochRecord {
    int64_t epoch = 0;  // 1-based
    double train_loss = 0;
    double train_accuracy = 0;  // against the (possibly noisy) training labels
    double test_loss = 0;
    double test_accuracy = 0;
    double lr = 0;  // learning rate used during this epoch
    double seconds = 0;
};

struct UnitResult {
    std::vector<EpochRecord> curves;
    std::vector<int64_t> confusion;     // classes × classes, [true][predicted], final model
    std::vector<int64_t> noise_counts;  // classes × classes, [true][noisy], training split
    std::vector<int16_t> predictions;   // test images, predicted class
    std::vector<float> scores;          // test images × classes, softmax probabilities
    double seconds = 0;                 // whole unit, wall time
};

// A unit that cannot finish (NaN loss, out of memory): recorded as failed, the sweep goes on.
class UnitFailed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A unit abandoned because the run is stopping (a signal): it stays pending, nothing is kept.
class UnitInterrupted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Asked at every batch boundary; true abandons the unit with UnitInterrupted.
using StopCheck = std::function<bool()>;

// Where a worker trains. threads applies to CPU training (intra-op threads).
struct Device {
    bool cuda = false;
    int index = 0;
    int threads = 1;
    std::string describe() const;
};

// LibTorch's version, for the result file's provenance.
std::string torch_version();

// Number of CUDA devices LibTorch sees (0 on a CPU-only build).
int cuda_device_count();

// Prepares this process for training on the CPU: sets LibTorch's intra-op threads and the BLAS
// library's threads, and has malloc keep freed memory for reuse (see train.cpp), which is
// process-wide. Call once, before the first unit.
void set_cpu_threads(int threads);

// A dataset prepared once per worker and reused by every unit on it: normalized float
// images in the training device's memory. Opaque so that callers need no Torch headers.
class PreparedData {
public:
    PreparedData(const data::Dataset& dataset, const Device& device);
    ~PreparedData();
    PreparedData(const PreparedData&) = delete;
    PreparedData& operator=(const PreparedData&) = delete;

    struct Tensors;
    const Tensors& tensors() const { return *tensors_; }
    const data::Dataset& dataset() const { return dataset_; }
    const data::Normalization& normalization() const { return normalization_; }

private:
    const data::Dataset& dataset_;
    data::Normalization normalization_;
    Tensors* tensors_;
};

// Trains and evaluates one unit. Weight initialization, label noise and shuffling draw from
// separate streams derived from unit.seed, so units differing only in epsilon start from the
// same weights; the same seed and thread count give the same numbers.
UnitResult train_unit(const plan::Unit& unit, const PreparedData& data, const Device& device,
                      const StopCheck& should_stop = {});

// The seed of one random stream of a unit, well mixed from the unit's seed.
enum class Stream : uint64_t { kInit = 1, kNoise = 2, kShuffle = 3 };
uint64_t stream_seed(int64_t unit_seed, Stream stream);

}  // namespace sweep::train
