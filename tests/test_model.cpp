#include <catch2/catch.hpp>

#include "model/lenet.hpp"
#include "train/train.hpp"

using sweep::model::LeNet5;

TEST_CASE("model: LeNet-5 maps 1x28x28 images to 10 logits", "[model]") {
    LeNet5 net(1, 28, 10);
    const torch::Tensor logits = net->forward(torch::zeros({7, 1, 28, 28}));
    REQUIRE(logits.sizes() == torch::IntArrayRef({7, 10}));
}

TEST_CASE("model: LeNet-5 maps 3x32x32 images to 10 logits", "[model]") {
    LeNet5 net(3, 32, 10);
    const torch::Tensor logits = net->forward(torch::zeros({2, 3, 32, 32}));
    REQUIRE(logits.sizes() == torch::IntArrayRef({2, 10}));
}

TEST_CASE("model: LeNet-5 has the classic parameter count", "[model]") {
    // conv1 6·(1·25+1), conv2 16·(6·25+1), fc 400·120+120, 120·84+84, 84·10+10
    int64_t count = 0;
    for (const torch::Tensor& parameter : LeNet5(1, 28, 10)->parameters()) {
        count += parameter.numel();
    }
    REQUIRE(count == 156 + 2416 + 48120 + 10164 + 850);
}

TEST_CASE("model: an unsupported input side is refused", "[model]") {
    REQUIRE_THROWS_WITH(LeNet5(1, 30, 10), Catch::Contains("input side 30"));
}

TEST_CASE("model: the same seed gives the same initial weights", "[model]") {
    const uint64_t seed = sweep::train::stream_seed(7, sweep::train::Stream::kInit);
    torch::manual_seed(seed);
    LeNet5 first(1, 28, 10);
    torch::manual_seed(seed);
    LeNet5 second(1, 28, 10);
    torch::manual_seed(sweep::train::stream_seed(8, sweep::train::Stream::kInit));
    LeNet5 other(1, 28, 10);
    const auto a = first->parameters(), b = second->parameters(), c = other->parameters();
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(torch::equal(a[i], b[i]));
    REQUIRE_FALSE(torch::equal(a[0], c[0]));
}

TEST_CASE("model: random streams of one seed differ from each other", "[model]") {
    using sweep::train::Stream;
    using sweep::train::stream_seed;
    REQUIRE(stream_seed(1, Stream::kInit) != stream_seed(1, Stream::kNoise));
    REQUIRE(stream_seed(1, Stream::kNoise) != stream_seed(1, Stream::kShuffle));
    REQUIRE(stream_seed(1, Stream::kInit) != stream_seed(2, Stream::kInit));
}

namespace {

// A small data set of random images, enough to exercise the whole training loop.
sweep::data::Dataset random_dataset() {
    sweep::data::Dataset dataset;
    dataset.name = "random";
    torch::manual_seed(11);
    for (auto* split : {&dataset.train, &dataset.test}) {
        const int64_t count = split == &dataset.train ? 320 : 100;
        const torch::Tensor pixels = torch::randint(0, 256, {count * 28 * 28}, torch::kUInt8);
        const torch::Tensor labels = torch::randint(0, 10, {count}, torch::kUInt8);
        split->images = {count, 1, 28, 28,
                         std::vector<uint8_t>(pixels.data_ptr<uint8_t>(),
                                              pixels.data_ptr<uint8_t>() + pixels.numel())};
        split->labels.assign(labels.data_ptr<uint8_t>(),
                             labels.data_ptr<uint8_t>() + labels.numel());
    }
    return dataset;
}

sweep::plan::Unit small_unit() {
    sweep::plan::Unit unit;
    unit.dataset = "random";
    unit.optimizer = "sgd";
    unit.lr = 0.05;
    unit.gamma = 0.5;
    unit.momentum = 0.9;
    unit.epochs = 2;
    unit.batch_size = 64;
    unit.test_batch_size = 40;
    unit.seed = 3;
    return unit;
}

}  // namespace

TEST_CASE("train: the same seed and thread count give the same numbers", "[train]") {
    const sweep::train::Device cpu;
    sweep::train::set_cpu_threads(cpu.threads);
    const sweep::data::Dataset dataset = random_dataset();
    const sweep::train::PreparedData data(dataset, cpu);
    const auto first = sweep::train::train_unit(small_unit(), data, cpu);
    const auto second = sweep::train::train_unit(small_unit(), data, cpu);

    REQUIRE(first.curves.size() == 2);
    for (size_t epoch = 0; epoch < 2; ++epoch) {
        REQUIRE(first.curves[epoch].train_loss == second.curves[epoch].train_loss);
        REQUIRE(first.curves[epoch].test_accuracy == second.curves[epoch].test_accuracy);
    }
    REQUIRE(first.scores == second.scores);
    REQUIRE(first.predictions == second.predictions);

    auto other_seed = small_unit();
    other_seed.seed = 4;
    REQUIRE(sweep::train::train_unit(other_seed, data, cpu).scores != first.scores);
}

TEST_CASE("train: curves, learning-rate decay and final test outputs are recorded", "[train]") {
    const sweep::train::Device cpu;
    const sweep::data::Dataset dataset = random_dataset();
    const sweep::train::PreparedData data(dataset, cpu);
    auto unit = small_unit();
    unit.epsilon = 0.5;
    const auto result = sweep::train::train_unit(unit, data, cpu);

    REQUIRE(result.curves[0].epoch == 1);
    REQUIRE(result.curves[0].lr == 0.05);
    REQUIRE(result.curves[1].lr == Approx(0.025));  // gamma 0.5 after the first epoch
    REQUIRE(result.predictions.size() == 100);
    REQUIRE(result.scores.size() == 100 * 10);
    REQUIRE(result.confusion.size() == 100);
    int64_t correct = 0, total = 0;
    for (int c = 0; c < 10; ++c) correct += result.confusion[c * 10 + c];
    for (const int64_t count : result.confusion) total += count;
    REQUIRE(total == 100);
    REQUIRE(double(correct) / total == Approx(result.curves[1].test_accuracy));

    int64_t kept = 0;
    for (int c = 0; c < 10; ++c) kept += result.noise_counts[c * 10 + c];
    REQUIRE(kept < 320 * 0.6 + 10);  // about half of the labels moved
}

TEST_CASE("train: a diverging unit fails with its reason", "[train]") {
    const sweep::train::Device cpu;
    const sweep::data::Dataset dataset = random_dataset();
    const sweep::train::PreparedData data(dataset, cpu);
    auto unit = small_unit();
    unit.lr = 1e12;
    REQUIRE_THROWS_WITH(sweep::train::train_unit(unit, data, cpu),
                        Catch::Contains("training loss is") && Catch::Contains("in epoch 1"));
}
