// Owns the statistics of a study: grouping units by setting and summarizing their seeds.
// Needs only the plan's Unit; knows nothing of MPI, HDF5 or Torch. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace sweep::report {

// Best, mean and sample standard deviation (n − 1) of some values; std is NaN below 2 values,
// and every field is NaN for no values.
struct Summary {
    size_t count = 0;
    double best = 0;
    double mean = 0;
    double std = 0;
};
Summary summarize(const std::vector<double>& values);

// What happened to one unit, as the report needs it.
struct UnitOutcome {
    plan::Unit unit;
    bool done = false;
    bool failed = false;
    double final_test_accuracy = 0;  // fraction in [0, 1]; meaningful when done
};

// One setting: all parameters but the seed. Accuracies are in percent.
struct SettingSummary {
    plan::Unit setting;  // the first unit of the setting; its seed is not meaningful
    std::vector<int64_t> done_units;
    size_t failed = 0;
    size_t pending = 0;
    Summary accuracy;  // over the done units' final test accuracy, in percent
    int64_t best_unit = -1;
};

// Groups in order of first appearance in the plan.
std::vector<SettingSummary> summarize_settings(const std::vector<UnitOutcome>& outcomes);

}  // namespace sweep::report
