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
