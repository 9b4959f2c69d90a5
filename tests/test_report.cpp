#include <catch2/catch.hpp>

#include <cmath>

#include "report.hpp"
#include "stats.hpp"

using sweep::report::summarize;
using sweep::report::summarize_settings;
using sweep::report::UnitOutcome;

TEST_CASE("report: summary gives best, mean and sample standard deviation", "[report]") {
    // mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; 5 / 3 under n − 1
    const auto summary = summarize({1, 2, 3, 4});
    REQUIRE(summary.count == 4);
    REQUIRE(summary.best == 4);
    REQUIRE(summary.mean == Approx(2.5));
    REQUIRE(summary.std == Approx(std::sqrt(5.0 / 3.0)));
}

TEST_CASE("report: one value has no standard deviation, none has no statistics", "[report]") {
    const auto one = summarize({98.5});
    REQUIRE(one.best == 98.5);
    REQUIRE(one.mean == 98.5);
    REQUIRE(std::isnan(one.std));
    REQUIRE(std::isnan(summarize({}).mean));
}

TEST_CASE("report: standard deviation stays accurate around a large mean", "[report]") {
    const auto summary = summarize({1e9 + 1, 1e9 + 2, 1e9 + 3});
    REQUIRE(summary.std == Approx(1.0));
}

namespace {

UnitOutcome outcome(int64_t index, const std::string& optimizer, int64_t seed, double accuracy,
                    bool done = true) {
    UnitOutcome result;
    result.unit.index = index;
    result.unit.dataset = "mnist";
    result.unit.optimizer = optimizer;
    result.unit.lr = 0.01;
    result.unit.seed = seed;
    result.done = done;
    result.final_test_accuracy = accuracy;
    return result;
}

}  // namespace

TEST_CASE("report: units group by setting, in plan order, over their seeds", "[report]") {
    const auto settings =
        summarize_settings({outcome(0, "sgd", 1, 0.90), outcome(1, "adam", 1, 0.95),
                            outcome(2, "sgd", 2, 0.92), outcome(3, "adam", 2, 0.5, false)});
    REQUIRE(settings.size() == 2);
    REQUIRE(settings[0].setting.optimizer == "sgd");
    REQUIRE(settings[0].accuracy.count == 2);
    REQUIRE(settings[0].accuracy.mean == Approx(91.0));
    REQUIRE(settings[0].accuracy.best == Approx(92.0));
    REQUIRE(settings[0].best_unit == 2);
    REQUIRE(settings[1].accuracy.count == 1);
    REQUIRE(settings[1].pending == 1);
}

TEST_CASE("report: the tables print percent with three decimals", "[report]") {
    const auto settings =
        summarize_settings({outcome(0, "sgd", 1, 0.9), outcome(1, "sgd", 2, 0.95)});
    const std::string markdown = sweep::report::markdown_table(settings);
    REQUIRE_THAT(markdown, Catch::Contains("| 2 | 95.000 | 92.500 | 3.536 |"));
    const std::string csv = sweep::report::csv_table(settings);
    REQUIRE_THAT(csv, Catch::Contains(",2,0,0,95.000,92.500,3.536\n"));
}
