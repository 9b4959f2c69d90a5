// Times sweep's own trainer and the machine's matrix-multiply rate, for tests/bench/run.
// Needs LibTorch and a data set on disk; prints one JSON line per measurement on stdout.
// One measurement per process: Torch's thread count is per process.
//
//   bench_trainer train --data-dir DIR [--threads N] [--start-at UNIX_SECONDS]
//   bench_trainer sgemm [--threads N] [--size 2048]
//   bench_trainer flops
#include <fmt/format.h>
#include <time.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "data/data.hpp"
#include "model/lenet.hpp"
#include "train/packed.hpp"
#include "train/train.hpp"

namespace {

using WallClock = std::chrono::system_clock;
using Clock = std::chrono::steady_clock;

constexpr int64_t kTrainBatch = 64;   // sweep's default batch_size
constexpr int64_t kTestBatch = 1000;  // sweep's default test_batch_size
constexpr double kLearningRate = 0.01;
constexpr double kMomentum = 0.9;
// Multiplications of the square matrices timed; the best one counts, the first warms up.
constexpr int kSgemmRepeats = 6;

double unix_seconds() {
    return std::chrono::duration<double>(WallClock::now().time_since_epoch()).count();
}

double seconds_between(Clock::time_point start, Clock::time_point end) {
    return std::chrono::duration<double>(end - start).count();
}

// CPU time of the whole process, all threads: less disturbed than wall time by other load.
double process_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

void sleep_until_unix(double start_at) {
    const double wait = start_at - unix_seconds();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
}

// One unit of one epoch through train::train_unit, exactly as a worker runs it. The trainer
// asks its stop check at every batch boundary, which gives the end of the training part: the
// last ask comes before the last batch, so that batch is counted at the mean batch time. The
// rest of the epoch's recorded seconds is the test pass over the test split.
// With pack > 1, that many units (seeds 1..pack) train as one pack, as `sweep run --pack`
// trains them, and the images counted are those of every unit.
void bench_train(const std::string& data_dir, int threads, double start_at, int pack) {
    sweep::train::set_cpu_threads(threads);
    const sweep::data::Dataset dataset = sweep::data::load_dataset("fashion-mnist", data_dir, 0, 0);
    sweep::train::Device cpu;
    cpu.threads = threads;
    const sweep::train::PreparedData prepared(dataset, cpu);

    sweep::plan::Unit unit;
    unit.dataset = dataset.name;
    unit.optimizer = "sgd";
    unit.lr = kLearningRate;
    unit.momentum = kMomentum;
    unit.epochs = 1;
    unit.batch_size = kTrainBatch;
    unit.test_batch_size = kTestBatch;
    unit.seed = 1;

    std::vector<Clock::time_point> boundaries;
    const int64_t train_count = dataset.train.images.count * pack;
    boundaries.reserve(static_cast<size_t>(train_count / kTrainBatch + 2));
    const sweep::train::StopCheck mark = [&boundaries] {
        boundaries.push_back(Clock::now());
        return false;
    };

    sleep_until_unix(start_at);
    const double train_start = unix_seconds();
    const double cpu_start = process_cpu_seconds();
    const Clock::time_point start = Clock::now();
    std::vector<sweep::plan::Unit> units;
    for (int seed = 1; seed <= pack; ++seed) {
        units.push_back(unit);
        units.back().seed = seed;
    }
    const sweep::train::UnitResult result =
        pack == 1 ? sweep::train::train_unit(unit, prepared, cpu, mark)
                  : sweep::train::train_units_packed(units, prepared, cpu, mark).front().result;
    const Clock::time_point end = Clock::now();
    const double epoch_cpu_seconds = process_cpu_seconds() - cpu_start;

    const auto batches = static_cast<double>(boundaries.size());
    const double train_seconds =
        seconds_between(start, boundaries.front()) +
        seconds_between(boundaries.front(), boundaries.back()) * batches / (batches - 1);
    const double test_seconds = seconds_between(start, end) - train_seconds;
    const sweep::train::EpochRecord& epoch = result.curves.front();
    fmt::print("{{\"trainer\": \"sweep\", \"threads\": {}, \"train_images\": {}, ", threads,
               train_count);
    fmt::print("\"train_seconds\": {:.6f}, \"train_images_per_second\": {:.1f}, ", train_seconds,
               train_count / train_seconds);
    fmt::print("\"test_images_per_second\": {:.1f}, ",
               static_cast<double>(dataset.test.images.count * pack) / test_seconds);
    fmt::print("\"pack\": {}, ", pack);
    fmt::print("\"train_start\": {:.6f}, \"train_end\": {:.6f}, ", train_start,
               train_start + train_seconds);
    fmt::print("\"epoch_seconds\": {:.6f}, \"epoch_cpu_seconds\": {:.6f}, ", epoch.seconds,
               epoch_cpu_seconds);
    fmt::print("\"train_loss\": {:.6f}, \"train_accuracy\": {:.6f}, \"test_accuracy\": {:.6f}}}\n",
               epoch.train_loss, epoch.train_accuracy, epoch.test_accuracy);
}

// The fp32 matrix-multiply rate through the same LibTorch and BLAS the trainer uses:
// 2·size³ floating-point operations per product.
void bench_sgemm(int threads, int64_t size) {
    sweep::train::set_cpu_threads(threads);
    torch::manual_seed(1);
    const torch::Tensor a = torch::randn({size, size});
    const torch::Tensor b = torch::randn({size, size});
    torch::Tensor c = torch::empty({size, size});
    double best = 0;
    for (int repeat = 0; repeat < kSgemmRepeats; ++repeat) {
        const Clock::time_point start = Clock::now();
        torch::mm_out(c, a, b);
        const double seconds = seconds_between(start, Clock::now());
        if (repeat > 0) best = std::max(best, 2.0 * size * size * size / seconds);
    }
    fmt::print("{{\"sgemm_size\": {}, \"threads\": {}, \"gflops\": {:.2f}}}\n", size, threads,
               best / 1e9);
}

// Multiply-adds of one forward pass of LeNet-5, layer by layer, for a square input.
struct LayerCount {
    std::string layer;
    int64_t multiply_adds = 0;
};

std::vector<LayerCount> forward_multiply_adds(int64_t channels, int64_t classes) {
    // conv1 always yields 6 maps of 28×28 (a 28×28 input is padded by 2; 32×32 is not);
    // conv2 yields 16 maps of 10×10 from 6 pooled maps of 14×14.
    return {{"conv1", 6 * 28 * 28 * (channels * 5 * 5)},
            {"conv2", 16 * 10 * 10 * (6 * 5 * 5)},
            {"fc1", 400 * 120},
            {"fc2", 120 * 84},
            {"fc3", 84 * classes}};
}

// Useful training work per image: the forward pass, the gradient of the weights (as many
// multiply-adds again), and the gradient of each layer's input (again), except for conv1,
// whose input is the image and needs none. Two floating-point operations per multiply-add;
// biases, ReLU, pooling, the loss and the optimizer step are left out (about 1 % more).
double training_flops(int64_t channels, int64_t classes, bool explain) {
    int64_t forward = 0;
    for (const LayerCount& layer : forward_multiply_adds(channels, classes)) {
        forward += layer.multiply_adds;
        if (explain)
            fmt::print("#   {:<6} {:>9} multiply-adds\n", layer.layer, layer.multiply_adds);
    }
    const int64_t conv1 = forward_multiply_adds(channels, classes).front().multiply_adds;
    const int64_t training = 3 * forward - conv1;
    if (explain) {
        fmt::print(
            "#   forward {} multiply-adds; training 3 x forward - conv1 (no input gradient) = {};"
            " x2 = {:.3f} MFLOP per image\n",
            forward, training, 2.0 * training / 1e6);
    }
    return 2.0 * static_cast<double>(training);
}

void print_flops() {
    fmt::print("# LeNet-5 on 1x28x28 (Fashion-MNIST, padding 2):\n");
    const double fashion = training_flops(1, 10, true);
    fmt::print("# LeNet-5 on 3x32x32 (CIFAR-10):\n");
    const double cifar = training_flops(3, 10, true);
    fmt::print("{{\"flops_per_image_28\": {:.0f}, \"flops_per_image_32\": {:.0f}}}\n", fashion,
               cifar);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Times sweep's trainer and the fp32 matrix-multiply rate"};
    app.require_subcommand(1);
    int threads = 1;
    std::string data_dir = "/usr/share/datasets/fashion-mnist";
    double start_at = 0;
    int64_t size = 2048;

    CLI::App* train = app.add_subcommand("train", "one Fashion-MNIST unit of one epoch");
    train->add_option("--data-dir", data_dir, "the Fashion-MNIST directory");
    train->add_option("--threads", threads, "intra-op and BLAS threads");
    train->add_option("--start-at", start_at, "Unix time to start training at, after loading");
    int pack = 1;
    train->add_option("--pack", pack, "units trained at once as one pack (sweep run --pack)")
        ->check(CLI::Range(1, 64));
    CLI::App* sgemm = app.add_subcommand("sgemm", "fp32 square matrix multiply rate");
    sgemm->add_option("--threads", threads, "intra-op and BLAS threads");
    sgemm->add_option("--size", size, "matrix side");
    CLI::App* flops = app.add_subcommand("flops", "training FLOPs per image, and how counted");
    CLI11_PARSE(app, argc, argv);

    if (train->parsed()) bench_train(data_dir, threads, start_at, pack);
    if (sgemm->parsed()) bench_sgemm(threads, size);
    if (flops->parsed()) print_flops();
    return 0;
}
