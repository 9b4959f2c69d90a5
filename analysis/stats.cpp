#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace sweep::report {

Summary summarize(const std::vector<double>& values) {
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    Summary summary{values.size(), kNaN, kNaN, kNaN};
    if (values.empty()) return summary;

    double sum = 0;
    summary.best = values.front();
    for (const double value : values) {
        sum += value;
        summary.best = std::max(summary.best, value);
    }
    summary.mean = sum / static_cast<double>(values.size());
    if (values.size() < 2) return summary;

    double squares = 0;  // about the mean, in a second pass for accuracy
    for (const double value : values) squares += (value - summary.mean) * (value - summary.mean);
    summary.std = std::sqrt(squares / static_cast<double>(values.size() - 1));
    return summary;
}

std::vector<SettingSummary> summarize_settings(const std::vector<UnitOutcome>& outcomes) {
    std::vector<SettingSummary> settings;
    std::map<std::string, size_t> position;  // setting key → index in settings
    std::vector<std::vector<double>> accuracies;

    for (const UnitOutcome& outcome : outcomes) {
        const auto [found, inserted] =
            position.emplace(outcome.unit.setting_key(), settings.size());
        if (inserted) {
            settings.push_back({outcome.unit, {}, 0, 0, {}, -1});
            accuracies.emplace_back();
        }
        SettingSummary& setting = settings[found->second];
        if (outcome.done) {
            const double percent = 100 * outcome.final_test_accuracy;
            std::vector<double>& values = accuracies[found->second];
            if (values.empty() || percent > *std::max_element(values.begin(), values.end())) {
                setting.best_unit = outcome.unit.index;
            }
            values.push_back(percent);
            setting.done_units.push_back(outcome.unit.index);
        } else if (outcome.failed) {
            ++setting.failed;
        } else {
            ++setting.pending;
        }
    }
    for (size_t i = 0; i < settings.size(); ++i) settings[i].accuracy = summarize(accuracies[i]);
    return settings;
}

}  // namespace sweep::report
