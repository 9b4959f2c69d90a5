#include <catch2/catch.hpp>

#include <torch/torch.h>

#include <stdexcept>

#include "train/packed.hpp"
#include "train/train.hpp"

namespace {

using sweep::plan::Unit;
using sweep::train::PackedOutcome;
using sweep::train::UnitResult;

// Float rounding is the only allowed difference between a slot and its lone unit: grouped
// convolutions and batched products sum in another order, which moved losses and scores by at
// most 1e-6 after these 16 to 24 steps. 1e-4 leaves room for other CPUs' kernels and is far
// below what a real mistake (another seed, batch order, rate or momentum) moves, over 1e-2.
constexpr double kTolerance = 1e-4;

// Learnable images: each class has its own random template, each image adds noise to it.
sweep::data::Dataset template_dataset() {
    sweep::data::Dataset dataset;
    dataset.name = "templates";
    torch::manual_seed(5);
    const torch::Tensor templates = torch::rand({10, 28 * 28}) * 200;
    for (auto* split : {&dataset.train, &dataset.test}) {
        const int64_t count = split == &dataset.train ? 512 : 200;
        const torch::Tensor labels = torch::randint(0, 10, {count}, torch::kInt64);
        const torch::Tensor pixels =
            (templates.index_select(0, labels) + torch::rand({count, 28 * 28}) * 55)
                .to(torch::kUInt8)
                .contiguous();
        split->images = {count, 1, 28, 28,
                         std::vector<uint8_t>(pixels.data_ptr<uint8_t>(),
                                              pixels.data_ptr<uint8_t>() + pixels.numel())};
        const torch::Tensor bytes = labels.to(torch::kUInt8).contiguous();
        split->labels.assign(bytes.data_ptr<uint8_t>(), bytes.data_ptr<uint8_t>() + count);
    }
    return dataset;
}

Unit unit(const std::string& optimizer, double lr, double gamma, double epsilon, int64_t seed) {
    Unit result;
    result.dataset = "templates";
    result.optimizer = optimizer;
    result.lr = lr;
    result.gamma = gamma;
    result.momentum = optimizer == "sgd" ? 0.9 : 0;
    result.epsilon = epsilon;
    result.epochs = 2;
    result.batch_size = 64;
    result.test_batch_size = 80;  // 200 test images: the last test batch is partial
    result.seed = seed;
    return result;
}

// Three units that differ in everything a pack lets differ, optimizers included.
std::vector<Unit> mixed_units() {
    std::vector<Unit> units = {unit("sgd", 0.1, 0.5, 0, 1), unit("adam", 0.002, 0, 0.2, 2),
                               unit("sgd", 0.3, 0.8, 0.4, 3)};
    units[2].momentum = 0;
    units[2].epochs = 3;  // leaves the pack one epoch after the others
    return units;
}

// Of the test images, those whose lone top two scores are further apart than rounding
// could move them: their predicted class must not change.
void require_same_predictions(const UnitResult& packed, const UnitResult& alone) {
    REQUIRE(packed.predictions.size() == alone.predictions.size());
    int64_t differing = 0;
    for (size_t i = 0; i < alone.predictions.size(); ++i) {
        if (packed.predictions[i] == alone.predictions[i]) continue;
        const float* scores = &alone.scores[i * 10];
        REQUIRE(std::abs(scores[packed.predictions[i]] - scores[alone.predictions[i]]) <
                2 * kTolerance);
        ++differing;
    }
    if (differing == 0) REQUIRE(packed.confusion == alone.confusion);
}

void require_same_result(const UnitResult& packed, const UnitResult& alone) {
    REQUIRE(packed.curves.size() == alone.curves.size());
    for (size_t e = 0; e < alone.curves.size(); ++e) {
        const auto &p = packed.curves[e], &a = alone.curves[e];
        INFO("epoch " << a.epoch);
        REQUIRE(p.epoch == a.epoch);
        REQUIRE(p.lr == a.lr);
        REQUIRE(p.train_loss == Approx(a.train_loss).epsilon(kTolerance));
        REQUIRE(p.test_loss == Approx(a.test_loss).epsilon(kTolerance));
        // One image in a few hundred could sit on a decision boundary.
        REQUIRE(p.train_accuracy == Approx(a.train_accuracy).margin(1.0 / 512));
        REQUIRE(p.test_accuracy == Approx(a.test_accuracy).margin(1.0 / 200));
        REQUIRE(p.seconds > 0);
    }
    REQUIRE(packed.noise_counts == alone.noise_counts);
    REQUIRE(packed.scores.size() == alone.scores.size());
    for (size_t i = 0; i < alone.scores.size(); ++i) {
        REQUIRE(packed.scores[i] == Approx(alone.scores[i]).margin(kTolerance));
    }
    require_same_predictions(packed, alone);
    REQUIRE(packed.seconds > 0);
}

struct Fixture {
    const sweep::train::Device cpu;
    const sweep::data::Dataset dataset = template_dataset();
    const sweep::train::PreparedData data{dataset, cpu};

    Fixture() { sweep::train::set_cpu_threads(cpu.threads); }
};

}  // namespace

TEST_CASE("packed: each slot matches its unit trained alone", "[packed]") {
    const Fixture fixture;
    const std::vector<Unit> units = mixed_units();
    const std::vector<PackedOutcome> packed =
        sweep::train::train_units_packed(units, fixture.data, fixture.cpu);

    REQUIRE(packed.size() == units.size());
    for (size_t u = 0; u < units.size(); ++u) {
        INFO("unit " << u << ", " << units[u].optimizer);
        REQUIRE(packed[u].error.empty());
        const UnitResult alone = sweep::train::train_unit(units[u], fixture.data, fixture.cpu);
        require_same_result(packed[u].result, alone);
    }
    // The units learned (chance is 0.1), so agreement is not that of untrained models.
    for (const PackedOutcome& outcome : packed) {
        REQUIRE(outcome.result.curves.back().test_accuracy > 0.4);
    }
    REQUIRE(packed[0].result.curves[1].lr == Approx(0.05));  // each slot its own schedule
    REQUIRE(packed[2].result.curves[2].lr == Approx(0.192));
}

TEST_CASE("packed: a pack of one is the unit trained alone", "[packed]") {
    const Fixture fixture;
    const Unit adam = unit("adam", 0.001, 0.9, 0.1, 7);
    const auto packed = sweep::train::train_units_packed({adam}, fixture.data, fixture.cpu);
    REQUIRE(packed.at(0).error.empty());
    require_same_result(packed[0].result,
                        sweep::train::train_unit(adam, fixture.data, fixture.cpu));

    // Alone too, a diverging unit is an outcome with its reason, not an exception.
    const Unit diverging = unit("sgd", 1e30, 0, 0, 4);
    const auto failed = sweep::train::train_units_packed({diverging}, fixture.data, fixture.cpu);
    REQUIRE_THAT(failed.at(0).error, Catch::Matches("training loss is -?(nan|inf) in epoch 1"));
}

TEST_CASE("packed: a diverging slot fails alone with the lone reason", "[packed]") {
    const Fixture fixture;
    std::vector<Unit> units = mixed_units();
    units[0] = unit("sgd", 1e30, 0, 0, 4);

    std::string lone_reason;
    try {
        sweep::train::train_unit(units[0], fixture.data, fixture.cpu);
    } catch (const sweep::train::UnitFailed& failure) {
        lone_reason = failure.what();
    }

    const auto packed = sweep::train::train_units_packed(units, fixture.data, fixture.cpu);
    // The sign of a NaN depends on the order of the sums, so "-nan" may stand for "nan".
    REQUIRE_THAT(packed[0].error, Catch::Matches("training loss is -?(nan|inf) in epoch 1"));
    REQUIRE_THAT(lone_reason, Catch::Matches("training loss is -?(nan|inf) in epoch 1"));
    for (const size_t u : {size_t{1}, size_t{2}}) {
        INFO("unit " << u);
        REQUIRE(packed[u].error.empty());
        require_same_result(packed[u].result,
                            sweep::train::train_unit(units[u], fixture.data, fixture.cpu));
    }
}

TEST_CASE("packed: the stop check is asked at every batch and abandons the pack", "[packed]") {
    const Fixture fixture;
    int asked = 0;
    const auto stop_at_fifth = [&asked] { return ++asked == 5; };
    REQUIRE_THROWS_AS(
        sweep::train::train_units_packed(mixed_units(), fixture.data, fixture.cpu, stop_at_fifth),
        sweep::train::UnitInterrupted);
    REQUIRE(asked == 5);

    int batches = 0;
    const auto count_batches = [&batches] { return ++batches < 0; };
    sweep::train::train_units_packed(mixed_units(), fixture.data, fixture.cpu, count_batches);
    REQUIRE(batches == 3 * 8);  // 512 images in batches of 64, for 3 epochs (the longest unit)
}

TEST_CASE("packed: units that need other data or batches are refused", "[packed]") {
    const Unit base = unit("sgd", 0.01, 0, 0, 1);
    Unit other_batch = base, other_test_batch = base, other_size = base, other_set = base;
    other_batch.batch_size = 32;
    other_test_batch.test_batch_size = 100;
    other_size.train_size = 256;
    other_set.dataset = "mnist";
    Unit other_setting = unit("adam", 0.5, 0.9, 0.3, 9);
    other_setting.epochs = 4;

    REQUIRE(sweep::train::packable(base, other_setting));
    for (const Unit& other : {other_batch, other_test_batch, other_size, other_set}) {
        REQUIRE_FALSE(sweep::train::packable(base, other));
    }

    const Fixture fixture;
    REQUIRE_THROWS_AS(
        sweep::train::train_units_packed({base, other_batch}, fixture.data, fixture.cpu),
        std::invalid_argument);
    REQUIRE_THROWS_AS(sweep::train::train_units_packed({}, fixture.data, fixture.cpu),
                      std::invalid_argument);
}
