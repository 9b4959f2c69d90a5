// Owns `sweep plan` and `sweep status`: a study or a result file described as plain-text tables.
// Needs the plan, the store's serial reader and the report's statistics; no MPI calls, no Torch.
// Safe across threads and ranks: pure functions, apart from reading the files they are given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace sweep::inspect {

// Training images per second of one CPU worker on 28x28 grey images (MNIST, Fashion-MNIST):
// LeNet-5, batch 64, 1 thread, measured on the 2-core development machine under mpirun, data
// loading included: 14,200 with one worker, 13,300 each with two (tests/bench/run).
constexpr double kImagesPerSecond = 14000;
// How much more one 32x32x3 CIFAR-10 image costs to train than one 28x28 grey image.
constexpr double kColourImageCost = 1.4;
// Training ranks the wall-time estimate assumes unless told otherwise (mpirun -n 3).
constexpr int kDefaultWorkers = 2;

// Images in a data set's official training split: 60000 for mnist and fashion-mnist, 50000
// for cifar10. Throws ConfigError for a name the plan does not know.
int64_t official_train_size(const std::string& dataset);

// Images one unit trains on: epochs x (train_size, or the official split when it is 0).
int64_t training_images(const plan::Unit& unit);

// What training some units costs at the assumed throughput; evaluation and start-up are left
// out, so real runs take somewhat longer.
struct CostEstimate {
    int64_t training_images = 0;
    double worker_seconds = 0;  // one worker training every unit in turn
    double wall_seconds = 0;    // `workers` workers, each taking the next unit when free
};
CostEstimate estimate_cost(const std::vector<plan::Unit>& units, int workers);

struct PlanOptions {
    bool list_units = false;  // also list every unit with its id and seed
    int workers = kDefaultWorkers;
};

// What `sweep plan` prints: the study's name and output file, its units per data set and per
// setting (with the count of seeds), optionally every unit, the estimated cost, and what the
// output file already holds when it exists. Writes nothing. A study.output that exists but
// cannot be resumed (another plan, not a sweep file) is described, not thrown.
std::string describe_plan(const plan::Study& study, const PlanOptions& options);

// What `sweep status` prints: per setting the units done, pending and failed and the mean
// final test accuracy of the done ones (percent, three decimals); then every failed unit with
// its error; then the totals, training time, hosts and devices. Reads the file serially;
// throws StoreError when it is missing, not HDF5, or not a sweep result file.
std::string describe_status(const std::string& result_path);

}  // namespace sweep::inspect
