// `sweep run` under mpirun on missing, truncated or corrupt data files. Each case damages a
// copy of a small valid data set written here, and must stop every rank before any trains:
// exit code 4, one message naming the file (and the byte offset where there is one), and no
// result file or output directory left behind.
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace fs = std::filesystem;

namespace {

using sweep::testing::scrambled_bytes;
using sweep::testing::Scratch;

// The valid sets: small enough that a control run trains in about a second.
constexpr uint32_t kTrainCount = 120;  // images per training split
constexpr uint32_t kTestCount = 40;
constexpr uint32_t kSide = 28;                     // IDX image rows and columns
constexpr int64_t kIdxImageHeader = 16;            // magic and three dimensions, bytes
constexpr int64_t kIdxLabelHeader = 8;             // magic and one dimension, bytes
constexpr int kCifarPerBatch = 10;                 // records per CIFAR-10 batch file
constexpr int64_t kCifarRecord = 1 + 3 * 32 * 32;  // label byte and three planes, bytes

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
    REQUIRE(out.good());
}

void write_gzip(const fs::path& path, const std::string& bytes) {
    gzFile file = gzopen(path.c_str(), "wb");
    REQUIRE(file != nullptr);
    const int written = gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
    REQUIRE(gzclose(file) == Z_OK);
    REQUIRE(written == static_cast<int>(bytes.size()));
}

// Labels 0 .. 9 in turn; `out_of_range` at `index` when it is not negative.
std::string labels(uint32_t count, int index = -1, int out_of_range = 0) {
    std::string bytes;
    for (uint32_t label = 0; label < count; ++label) bytes += static_cast<char>(label % 10);
    if (index >= 0) bytes[static_cast<size_t>(index)] = static_cast<char>(out_of_range);
    return bytes;
}

// An IDX file of unsigned bytes: magic 0, 0, 0x08, ndim, then big-endian dimensions, then data.
std::string idx(const std::vector<uint32_t>& dims, const std::string& content) {
    std::string bytes = {0, 0, 0x08, static_cast<char>(dims.size())};
    for (const uint32_t dim : dims) {
        for (const int shift : {24, 16, 8, 0}) bytes += static_cast<char>(dim >> shift);
    }
    return bytes + content;
}

std::string idx_images(uint32_t count, uint32_t seed) {
    return idx({count, kSide, kSide}, scrambled_bytes(size_t{count} * kSide * kSide, seed));
}

// An MNIST directory: the training files gzip-compressed, the test files raw, so that both
// kinds of reading are exercised.
void write_mnist(const fs::path& dir) {
    fs::create_directories(dir);
    write_gzip(dir / "train-images-idx3-ubyte.gz", idx_images(kTrainCount, 1));
    write_gzip(dir / "train-labels-idx1-ubyte.gz", idx({kTrainCount}, labels(kTrainCount)));
    write_bytes(dir / "t10k-images-idx3-ubyte", idx_images(kTestCount, 2));
    write_bytes(dir / "t10k-labels-idx1-ubyte", idx({kTestCount}, labels(kTestCount)));
}

std::string cifar_batch(int records, uint32_t seed) {
    std::string bytes;
    for (int record = 0; record < records; ++record) {
        bytes += static_cast<char>(record % 10);
        bytes += scrambled_bytes(kCifarRecord - 1, seed + static_cast<uint32_t>(record));
    }
    return bytes;
}

void write_cifar(const fs::path& dir) {
    fs::create_directories(dir);
    for (int batch = 1; batch <= 5; ++batch) {
        write_bytes(dir / ("data_batch_" + std::to_string(batch) + ".bin"),
                    cifar_batch(kCifarPerBatch, 100u * batch));
    }
    write_bytes(dir / "test_batch.bin", cifar_batch(kCifarPerBatch, 7));
}

int exit_code(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct Run {
    int code;
    std::string output;
};

// Runs a one-unit study of `dataset` from `data_dir` under mpirun with three ranks.
Run run_study(const Scratch& scratch, const std::string& dataset, const fs::path& data_dir,
              const fs::path& result) {
    const fs::path study =
        scratch.write("study.yaml", "study: bad-data\ngrid: {dataset: " + dataset +
                                        ", data_dir: " + data_dir.string() +
                                        ", optimizer: sgd, lr: 0.05, epochs: 1, batch_size: 32}\n");
    std::string command = std::string(SWEEP_MPIEXEC) + " -n 3 --oversubscribe";
    if (geteuid() == 0) command += " --allow-run-as-root";  // Open MPI refuses root otherwise
    command += std::string(" ") + SWEEP_BINARY + " run " + study.string() + " -o " +
               result.string() + " --threads 1 > " + (scratch.dir / "log").string() + " 2>&1";
    const int status = std::system(command.c_str());
    return {exit_code(status), read_bytes(scratch.dir / "log")};
}

size_t occurrences(const std::string& text, const std::string& part) {
    size_t count = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++count;
    }
    return count;
}

// Cuts a file to its first `bytes` bytes.
void cut(const fs::path& path, int64_t bytes) {
    fs::resize_file(path, static_cast<uintmax_t>(bytes));
}

struct BadData {
    const char* fault;
    const char* dataset;  // "mnist" or "cifar10"
    std::function<void(const fs::path& dir)> damage;
    // The message, with {dir} standing for the case's data directory; a second part, when
    // not empty, must follow the first in the same line (the part between varies with zlib).
    std::string message;
    std::string message_end;
};

const std::vector<BadData>& bad_data_cases() {
    const int64_t train_bytes = kIdxImageHeader + int64_t{kTrainCount} * kSide * kSide;
    const int64_t test_bytes = kIdxImageHeader + int64_t{kTestCount} * kSide * kSide;
    const int64_t batch_bytes = kCifarPerBatch * kCifarRecord;
    static const std::vector<BadData> cases = {
        {"bad magic", "mnist",
         [](const fs::path& dir) {
             std::string bytes = idx_images(kTrainCount, 1);
             bytes[3] = 0x01;  // says labels
             write_gzip(dir / "train-images-idx3-ubyte.gz", bytes);
         },
         "{dir}/train-images-idx3-ubyte.gz: bad magic 0x00000801 at byte 0, expected 0x00000803 "
         "(IDX images)",
         ""},
        {"image and label counts disagree", "mnist",
         [](const fs::path& dir) {
             write_gzip(dir / "train-labels-idx1-ubyte.gz",
                        idx({kTrainCount - 1}, labels(kTrainCount - 1)));
         },
         "{dir}/train-images-idx3-ubyte.gz: holds 120 images but "
         "{dir}/train-labels-idx1-ubyte.gz holds 119 labels",
         ""},
        {"gzip stream cut short", "mnist",
         [](const fs::path& dir) {
             const fs::path file = dir / "train-images-idx3-ubyte.gz";
             cut(file, static_cast<int64_t>(fs::file_size(file)) / 2);
         },
         "{dir}/train-images-idx3-ubyte.gz: truncated at byte ",
         ", header promises " + std::to_string(train_bytes) + " bytes (gzip stream cut short)"},
        {"corrupt gzip stream", "mnist",
         [](const fs::path& dir) {
             const fs::path file = dir / "train-images-idx3-ubyte.gz";
             std::string bytes = read_bytes(file);
             for (size_t at = bytes.size() / 2; at < bytes.size() / 2 + 64; ++at) bytes[at] = 0;
             write_bytes(file, bytes);
         },
         "{dir}/train-images-idx3-ubyte.gz: corrupt gzip stream at compressed byte ", ""},
        {"raw file truncated", "mnist",
         [test_bytes](const fs::path& dir) {
             cut(dir / "t10k-images-idx3-ubyte", test_bytes - 1000);
         },
         "{dir}/t10k-images-idx3-ubyte: truncated at byte " + std::to_string(test_bytes - 1000) +
             ", header promises " + std::to_string(test_bytes) + " bytes",
         ""},
        {"empty file", "mnist", [](const fs::path& dir) { cut(dir / "t10k-labels-idx1-ubyte", 0); },
         "{dir}/t10k-labels-idx1-ubyte: empty file, expected an IDX header", ""},
        {"label out of range", "mnist",
         [](const fs::path& dir) {
             write_bytes(dir / "t10k-labels-idx1-ubyte",
                         idx({kTestCount}, labels(kTestCount, 5, 12)));
         },
         "{dir}/t10k-labels-idx1-ubyte: label 12 at byte " + std::to_string(kIdxLabelHeader + 5) +
             " is out of range 0 .. 9",
         ""},
        {"missing file", "mnist",
         [](const fs::path& dir) { fs::remove(dir / "t10k-labels-idx1-ubyte"); },
         "{dir}: missing IDX files t10k-labels-idx1-ubyte[.gz]", ""},
        {"CIFAR-10 batch of the wrong size", "cifar10",
         [](const fs::path& dir) {
             std::ofstream(dir / "data_batch_3.bin", std::ios::binary | std::ios::app) << "extra";
         },
         "{dir}/data_batch_3.bin: size " + std::to_string(batch_bytes + 5) +
             " is not a multiple of 3073, the record starting at byte " +
             std::to_string(batch_bytes) + " is cut short",
         ""},
        {"CIFAR-10 test batch missing", "cifar10",
         [](const fs::path& dir) { fs::remove(dir / "test_batch.bin"); },
         "{dir}: missing CIFAR-10 files test_batch.bin (also looked in "
         "{dir}/cifar-10-batches-bin)",
         ""},
    };
    return cases;
}

std::string with_dir(std::string text, const fs::path& dir) {
    const std::string mark = "{dir}";
    for (size_t at = text.find(mark); at != std::string::npos; at = text.find(mark, at)) {
        text.replace(at, mark.size(), dir.string());
        at += dir.string().size();
    }
    return text;
}

}  // namespace

TEST_CASE("run: the small valid data sets the bad-data cases start from train", "[run][mpi]") {
    const Scratch scratch;
    write_mnist(scratch.dir / "mnist");
    write_cifar(scratch.dir / "cifar10");
    for (const char* dataset : {"mnist", "cifar10"}) {
        const fs::path result = scratch.dir / "out" / (std::string(dataset) + ".h5");
        const Run run = run_study(scratch, dataset, scratch.dir / dataset, result);
        INFO(run.output);
        REQUIRE(run.code == 0);
        REQUIRE(fs::exists(result));
    }
}

TEST_CASE("run: a missing, truncated or corrupt data file stops every rank before training",
          "[run][mpi]") {
    const Scratch scratch;
    write_mnist(scratch.dir / "valid" / "mnist");
    write_cifar(scratch.dir / "valid" / "cifar10");

    for (const BadData& bad : bad_data_cases()) {
        DYNAMIC_SECTION(bad.fault) {
            const fs::path data_dir = scratch.dir / "case";
            fs::remove_all(data_dir);
            fs::copy(scratch.dir / "valid" / bad.dataset, data_dir);
            bad.damage(data_dir);
            const fs::path out_dir = scratch.dir / "out";
            const Run run = run_study(scratch, bad.dataset, data_dir, out_dir / "bad.h5");

            INFO(run.output);
            CHECK(run.code == 4);
            const std::string message = with_dir(bad.message, data_dir);
            CHECK(occurrences(run.output, message) == 1);  // said once, by rank 0
            const size_t line = run.output.find(message);
            if (!bad.message_end.empty() && line != std::string::npos) {
                const std::string rest =
                    run.output.substr(line, run.output.find('\n', line) - line);
                CHECK_THAT(rest, Catch::Contains(bad.message_end));
            }
            CHECK_THAT(run.output, !Catch::Contains("ready on"));  // no worker started
            CHECK_FALSE(fs::exists(out_dir));  // nor a result file, nor its directory
        }
    }
}
