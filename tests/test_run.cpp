// End-to-end runs of the sweep binary under mpirun on a real subset of Fashion-MNIST.
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "store/store.hpp"

namespace fs = std::filesystem;

namespace {

// Debian's dataset-fashion-mnist; scripts/test installs it.
const char* const kFashionDir = "/usr/share/datasets/fashion-mnist";

const char* const kStudy = R"(study: integration
defaults:
  dataset: fashion-mnist
  data_dir: /usr/share/datasets/fashion-mnist
  epochs: 1
  train_size: 6000
  test_size: 1000
  momentum: 0.9
grids:
  - setting:
      - {optimizer: sgd, lr: 0.05, gamma: 0.5}
      - {optimizer: adam, lr: 0.001, gamma: 0}
    seed: [1, 2]
  - optimizer: adam
    lr: 0.001
    epsilon: [0.4]
    seed: [1]
)";

using sweep::testing::Scratch;

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

struct Outcome {
    int code;
    std::string output;
};

// Runs a shell command, returning its exit code and what it printed.
Outcome shell(const std::string& command, const fs::path& log) {
    const int status = std::system((command + " > " + log.string() + " 2>&1").c_str());
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    return {code, read_bytes(log)};
}

std::string mpirun(int ranks) {
    std::string command =
        std::string(SWEEP_MPIEXEC) + " -n " + std::to_string(ranks) + " --oversubscribe";
    if (geteuid() == 0) command += " --allow-run-as-root";  // Open MPI refuses root otherwise
    return command + " " + SWEEP_BINARY;
}

}  // namespace

TEST_CASE("run: three ranks train a real study into one file, and a rerun trains nothing",
          "[run][mpi]") {
    REQUIRE(fs::exists(kFashionDir));  // install dataset-fashion-mnist (scripts/test does)
    const Scratch scratch;
    const fs::path study = scratch.write("study.yaml", kStudy);
    const fs::path result = scratch.dir / "out" / "integration.h5";

    const Outcome first = shell("env -u CUDA_VISIBLE_DEVICES " + mpirun(3) + " run " +
                                    study.string() + " -o " + result.string(),
                                scratch.dir / "first.log");
    INFO(first.output);
    REQUIRE(first.code == 0);
    REQUIRE_THAT(first.output, Catch::Contains("5 trained, 0 failed, 0 skipped"));

    const sweep::store::ResultReader reader(result.string());
    const auto units = reader.units();
    const auto status = reader.status();
    const auto outcomes = reader.outcomes();
    REQUIRE(units.size() == 5);
    for (size_t i = 0; i < units.size(); ++i) {
        INFO("unit " << i);
        REQUIRE(status[i] == sweep::store::Status::kDone);
        REQUIRE(outcomes[i].final_test_accuracy > 0.5);  // chance is 0.1
        REQUIRE((outcomes[i].rank == 1 || outcomes[i].rank == 2));
        REQUIRE(outcomes[i].local_rank == outcomes[i].rank);  // one node: local order is world's
        REQUIRE(!outcomes[i].host.empty());
        REQUIRE(outcomes[i].visible_devices == "(unset)");
        REQUIRE_THAT(outcomes[i].device, Catch::StartsWith("cpu (1 thread)"));

        const sweep::store::UnitData data = reader.unit_data(int64_t(i));
        REQUIRE(data.curves.size() == 1);
        REQUIRE(data.curves[0].test_accuracy == outcomes[i].final_test_accuracy);
        REQUIRE(data.curves[0].lr == units[i].lr);
        REQUIRE(std::accumulate(data.confusion.begin(), data.confusion.end(), int64_t{0}) == 1000);
        REQUIRE(std::accumulate(data.noise_counts.begin(), data.noise_counts.end(), int64_t{0}) ==
                6000);
        REQUIRE(data.predictions.size() == 1000);
        REQUIRE(data.scores.size() == 1000 * 10);
        REQUIRE(std::accumulate(data.scores.begin(), data.scores.begin() + 10, 0.0) ==
                Approx(1.0).epsilon(1e-4));
    }
    // epsilon 0.4 moved round(0.4 · n_c) of each class's labels off the diagonal
    const auto noisy = reader.unit_data(4).noise_counts;
    for (int c = 0; c < 10; ++c) {
        const int64_t n_c = std::accumulate(&noisy[c * 10], &noisy[c * 10 + 10], int64_t{0});
        REQUIRE(n_c - noisy[c * 10 + c] == std::llround(0.4 * double(n_c)));
    }

    // The data set's test split and class names are stored once, for the report.
    const sweep::store::DatasetInfo fashion = reader.dataset("fashion-mnist");
    REQUIRE(fashion.test_count == 10000);
    REQUIRE((fashion.channels == 1 && fashion.rows == 28 && fashion.cols == 28));
    REQUIRE(fashion.test_pixels.size() == 10000 * 28 * 28);
    REQUIRE(fashion.class_names.size() == 10);
    REQUIRE(fashion.class_names[9] == "Ankle boot");
    REQUIRE(std::count(fashion.sha256sums.begin(), fashion.sha256sums.end(), '\n') == 4);
    REQUIRE_THAT(fashion.sha256sums,
                 Catch::Contains("  " + std::string(kFashionDir) + "/train-images-idx3-ubyte"));
    const auto confusion = reader.unit_data(0).confusion;
    for (int c = 0; c < 10; ++c) {
        const auto first = fashion.test_labels.begin();
        REQUIRE(std::count(first, first + 1000, c) ==
                std::accumulate(&confusion[c * 10], &confusion[c * 10 + 10], int64_t{0}));
    }

    const std::string before = read_bytes(result);
    const Outcome second = shell(mpirun(3) + " run " + study.string() + " -o " + result.string(),
                                 scratch.dir / "second.log");
    INFO(second.output);
    REQUIRE(second.code == 0);
    REQUIRE_THAT(second.output, Catch::Contains("0 trained, 0 failed, 5 skipped"));
    REQUIRE(read_bytes(result) == before);
}

TEST_CASE("run: a file made from a different plan is refused and left untouched", "[run][mpi]") {
    REQUIRE(fs::exists(kFashionDir));
    const Scratch scratch;
    std::string small = kStudy;
    small.replace(small.find("seed: [1, 2]"), 12, "seed: [3]");
    small.replace(small.find("train_size: 6000"), 16, "train_size: 640");
    const fs::path study = scratch.write("study.yaml", small);
    const fs::path result = scratch.dir / "plan.h5";
    REQUIRE(shell(mpirun(2) + " run " + study.string() + " -o " + result.string(),
                  scratch.dir / "first.log")
                .code == 0);
    const std::string before = read_bytes(result);

    std::string other = small;
    other.replace(other.find("seed: [3]"), 9, "seed: [4]");
    const fs::path other_study = scratch.write("other.yaml", other);
    const Outcome refused =
        shell(mpirun(2) + " run " + other_study.string() + " -o " + result.string(),
              scratch.dir / "refused.log");
    INFO(refused.output);
    REQUIRE(refused.code == 5);
    REQUIRE_THAT(refused.output, Catch::Contains("made from a different plan"));
    REQUIRE(read_bytes(result) == before);

    // --force keeps the old file and writes the new plan's file beside it.
    const Outcome forced =
        shell(mpirun(2) + " run " + other_study.string() + " -o " + result.string() + " --force",
              scratch.dir / "forced.log");
    INFO(forced.output);
    REQUIRE(forced.code == 0);
    REQUIRE(read_bytes(result) == before);
    const sweep::store::ResultReader beside((scratch.dir / "plan.1.h5").string());
    REQUIRE(beside.units().at(0).seed == 4);
}

TEST_CASE("run: one process without mpirun trains every unit itself", "[run]") {
    REQUIRE(fs::exists(kFashionDir));
    const Scratch scratch;
    const fs::path study = scratch.write(
        "single.yaml",
        "study: single\ngrid: {dataset: fashion-mnist, optimizer: adam, lr: 0.001, epochs: 1, "
        "train_size: 640, test_size: 100, seed: [1, 2]}\n");
    const fs::path result = scratch.dir / "single.h5";
    // The variable is stored as the worker saw it; a CPU build of LibTorch sees no device.
    const Outcome run = shell("CUDA_VISIBLE_DEVICES=7 " + std::string(SWEEP_BINARY) + " run " +
                                  study.string() + " -o " + result.string(),
                              scratch.dir / "single.log");
    INFO(run.output);
    REQUIRE(run.code == 0);
    const sweep::store::ResultReader reader(result.string());
    for (const auto status : reader.status()) REQUIRE(status == sweep::store::Status::kDone);
    for (const auto& outcome : reader.outcomes()) {
        REQUIRE(outcome.rank == 0);
        REQUIRE(outcome.local_rank == 0);
        REQUIRE(outcome.visible_devices == "7");
        REQUIRE_THAT(outcome.device, Catch::StartsWith("cpu"));
    }
}

TEST_CASE("run: a bad study file is reported once, before anything trains", "[run][mpi]") {
    const Scratch scratch;
    const fs::path study = scratch.write(
        "bad.yaml", "study: bad\ngrid: {dataset: fashion-mnist, optimizer: sgd, lr: -1}\n");
    const fs::path result = scratch.dir / "bad.h5";
    const Outcome run = shell(mpirun(3) + " run " + study.string() + " -o " + result.string(),
                              scratch.dir / "bad.log");
    INFO(run.output);
    REQUIRE(run.code == 3);
    REQUIRE_THAT(run.output, Catch::Contains("bad.yaml:2:52: lr: -1 is out of range (0, inf)"));
    REQUIRE_FALSE(fs::exists(result));
}

TEST_CASE("run: a missing data set names where it looked", "[run]") {
    const Scratch scratch;
    const fs::path study = scratch.write(
        "nodata.yaml", "study: nodata\ngrid: {dataset: mnist, data_dir: " +
                           (scratch.dir / "nowhere").string() + ", optimizer: sgd, lr: 0.1}\n");
    const Outcome run = shell(std::string(SWEEP_BINARY) + " run " + study.string() + " -o " +
                                  (scratch.dir / "x.h5").string(),
                              scratch.dir / "nodata.log");
    INFO(run.output);
    REQUIRE(run.code == 4);
    REQUIRE_THAT(run.output, Catch::Contains("nowhere"));
}

TEST_CASE("run: srun without PMI (N tasks, each MPI rank 0 of 1) is refused", "[run]") {
    const Scratch scratch;
    const Outcome run =
        shell("SLURM_STEP_NUM_TASKS=4 " + std::string(SWEEP_BINARY) + " run " +
                  SWEEP_SOURCE_DIR "/sweeps/quickstart.yaml -o " + (scratch.dir / "x.h5").string(),
              scratch.dir / "pmi.log");
    INFO(run.output);
    REQUIRE(run.code == 6);
    REQUIRE_THAT(run.output, Catch::Contains("Slurm started 4 tasks but MPI sees 1"));
    REQUIRE_FALSE(fs::exists(scratch.dir / "x.h5"));
}

TEST_CASE("run: --pack trains packs of units that match the units trained alone", "[run][mpi]") {
    REQUIRE(fs::exists(kFashionDir));
    const Scratch scratch;
    // Two settings of three seeds on two workers: --pack 6 still gives each worker a pack of
    // three, an even share (one pack of six for one worker left the other idle). Mixed
    // optimizers are packable, so which units share a pack is up to the scheduler.
    const fs::path study = scratch.write(
        "pack.yaml",
        "study: pack\ngrid: {dataset: fashion-mnist, epochs: 2, train_size: 1000, "
        "test_size: 300, seed: [1, 2, 3], setting: [{optimizer: sgd, lr: 0.02, momentum: 0.9, "
        "gamma: 0.5}, {optimizer: adam, lr: 0.002, epsilon: 0.2}]}\n");
    const fs::path alone = scratch.dir / "alone.h5", packed = scratch.dir / "packed.h5";
    const std::string run = mpirun(3) + " run " + study.string() + " --threads 1 -o ";
    const Outcome first = shell(run + alone.string(), scratch.dir / "alone.log");
    INFO(first.output);
    REQUIRE(first.code == 0);
    const Outcome second = shell(run + packed.string() + " --pack 6", scratch.dir / "pack.log");
    INFO(second.output);
    REQUIRE(second.code == 0);
    REQUIRE_THAT(second.output, Catch::Contains("running rank"));
    REQUIRE_THAT(second.output, Catch::Matches("(.|\n)*units [0-9]\\+[0-9]\\+[0-9](.|\n)*"));

    const sweep::store::ResultReader alone_file(alone.string()), packed_file(packed.string());
    const auto outcomes = packed_file.outcomes();
    for (int64_t unit = 0; unit < 6; ++unit) {
        INFO("unit " << unit);
        REQUIRE(packed_file.status()[unit] == sweep::store::Status::kDone);
        REQUIRE_THAT(outcomes[unit].device, Catch::EndsWith(", pack of 3"));
        REQUIRE(outcomes[unit].rank == outcomes[unit < 3 ? 0 : 3].rank);  // packs of neighbours
        REQUIRE(outcomes[0].rank != outcomes[3].rank);
        const auto lone = alone_file.unit_data(unit), pack = packed_file.unit_data(unit);
        REQUIRE(lone.curves.size() == pack.curves.size());
        for (size_t epoch = 0; epoch < lone.curves.size(); ++epoch) {
            // Grouped kernels add in another order: equal up to float rounding, which two
            // epochs of SGD with momentum amplify to at most a few 1e-4.
            CHECK(pack.curves[epoch].train_loss ==
                  Approx(lone.curves[epoch].train_loss).margin(2e-3));
            CHECK(pack.curves[epoch].test_accuracy ==
                  Approx(lone.curves[epoch].test_accuracy).margin(0.01));
            CHECK(pack.curves[epoch].lr == lone.curves[epoch].lr);
        }
        CHECK(pack.noise_counts == lone.noise_counts);  // same seed, same noisy labels
    }
}
