// Times K units trained as one pack against the same K units trained one after another.
// Needs LibTorch and Fashion-MNIST on disk (found as `sweep run` finds it); prints a table.
// One intra-op thread, as a CPU worker that shares its node with others.
//
//   bench_packed [--train 10000] [--test 1000] [--epochs 1] [--repeats 3] [--slots 1,2,4,8]
#include <fmt/format.h>
#include <time.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "data/data.hpp"
#include "train/packed.hpp"
#include "train/train.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kTrainBatch = 64;   // sweep's default batch_size
constexpr int64_t kTestBatch = 1000;  // sweep's default test_batch_size
constexpr double kMomentum = 0.9;     // the quickstart study's SGD momentum

struct Timing {
    double wall = 0;  // seconds
    double cpu = 0;   // seconds of the process, all threads: less disturbed by other load
};

double process_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

template <typename Work>
Timing time_it(const Work& work) {
    const double cpu_start = process_cpu_seconds();
    const Clock::time_point start = Clock::now();
    work();
    return {std::chrono::duration<double>(Clock::now() - start).count(),
            process_cpu_seconds() - cpu_start};
}

std::string load_average() {
    std::ifstream file("/proc/loadavg");
    std::string one, five, fifteen;
    file >> one >> five >> fifteen;
    return fmt::format("{} {} {}", one, five, fifteen);
}

// K units that differ as a study's do: seeds, learning rates, gammas, label noise, and every
// fourth one Adam.
std::vector<sweep::plan::Unit> make_units(int slots, int64_t epochs) {
    std::vector<sweep::plan::Unit> units;
    for (int k = 0; k < slots; ++k) {
        sweep::plan::Unit unit;
        unit.index = k;
        unit.dataset = "fashion-mnist";
        unit.optimizer = k % 4 == 3 ? "adam" : "sgd";
        unit.lr = unit.optimizer == "adam" ? 0.001 : 0.01 * (1 + k % 3);
        unit.gamma = k % 2 == 0 ? 0 : 0.9;
        unit.momentum = unit.optimizer == "adam" ? 0 : kMomentum;
        unit.epsilon = 0.1 * (k % 3);
        unit.epochs = epochs;
        unit.batch_size = kTrainBatch;
        unit.test_batch_size = kTestBatch;
        unit.seed = k + 1;
        units.push_back(unit);
    }
    return units;
}

struct Spread {
    double min, median, max;
};

Spread spread(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return {values.front(), values[values.size() / 2], values.back()};
}

std::string cell(const Spread& s) {
    return fmt::format("{:>6.0f} {:>6.0f} {:>6.0f}", s.min, s.median, s.max);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Packed against lone training speed on Fashion-MNIST"};
    int64_t train_size = 10000, test_size = 1000, epochs = 1;
    int repeats = 3;
    std::vector<int> slot_counts = {1, 2, 4, 8};
    app.add_option("--train", train_size, "training images used");
    app.add_option("--test", test_size, "test images used");
    app.add_option("--epochs", epochs, "epochs per unit");
    app.add_option("--repeats", repeats, "repetitions of each measurement")
        ->check(CLI::PositiveNumber);
    app.add_option("--slots", slot_counts, "pack sizes")->delimiter(',');
    CLI11_PARSE(app, argc, argv);

    sweep::train::set_cpu_threads(1);
    const sweep::data::Dataset dataset = sweep::data::load_dataset(
        "fashion-mnist", sweep::data::locate("fashion-mnist", ""), train_size, test_size);
    const sweep::train::Device cpu;
    const sweep::train::PreparedData data(dataset, cpu);
    fmt::print("fashion-mnist: {} training and {} test images, {} epoch(s), batch {}, 1 thread\n",
               dataset.train.images.count, dataset.test.images.count, epochs, kTrainBatch);
    fmt::print("load average before: {}\n", load_average());
    fmt::print(
        "training images per second, all slots together, min median max over {} runs;\n"
        "each unit's time includes its test passes\n\n",
        repeats);
    fmt::print(
        " K | lone wall            | packed wall          | lone cpu             | "
        "packed cpu           | packed/lone (median wall, cpu)\n");

    for (const int slots : slot_counts) {
        const std::vector<sweep::plan::Unit> units = make_units(slots, epochs);
        const double images = static_cast<double>(slots * epochs * dataset.train.images.count);
        std::vector<double> lone_wall, lone_cpu, packed_wall, packed_cpu;
        for (int r = 0; r < repeats; ++r) {
            // Back to back, so that both see the same load from the rest of the machine.
            const Timing lone = time_it([&] {
                for (const auto& unit : units) sweep::train::train_unit(unit, data, cpu);
            });
            const Timing packed =
                time_it([&] { sweep::train::train_units_packed(units, data, cpu); });
            lone_wall.push_back(images / lone.wall);
            lone_cpu.push_back(images / lone.cpu);
            packed_wall.push_back(images / packed.wall);
            packed_cpu.push_back(images / packed.cpu);
        }
        const Spread lw = spread(lone_wall), pw = spread(packed_wall), lc = spread(lone_cpu),
                     pc = spread(packed_cpu);
        fmt::print("{:>2} | {} | {} | {} | {} | {:.2f}x {:.2f}x\n", slots, cell(lw), cell(pw),
                   cell(lc), cell(pc), pw.median / lw.median, pc.median / lc.median);
    }
    fmt::print("\nload average after: {}\n", load_average());
    return 0;
}
