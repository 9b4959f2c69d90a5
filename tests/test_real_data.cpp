// The readers on real MNIST kept beside the checkout (shared/data); skipped when absent.
#include <catch2/catch.hpp>

#include <array>
#include <filesystem>

#include "data/data.hpp"

namespace {

const std::string kSharedData = SWEEP_SHARED_DATA;

std::array<int64_t, 10> class_counts(const std::vector<uint8_t>& labels) {
    std::array<int64_t, 10> counts{};
    for (const uint8_t label : labels) ++counts[label];
    return counts;
}

}  // namespace

TEST_CASE("data: full MNIST has the official sizes and per-class counts", "[data]") {
    const std::string dir = kSharedData + "/mnist";
    if (!std::filesystem::is_directory(dir)) {
        WARN("no " << dir << "; skipped");
        return;
    }
    const auto mnist = sweep::data::load_dataset("mnist", dir, 0, 0);
    REQUIRE(mnist.train.images.count == 60000);
    REQUIRE(mnist.test.images.count == 10000);
    REQUIRE((mnist.train.images.rows == 28 && mnist.train.images.cols == 28));
    // The official counts, as published with the data set.
    REQUIRE(class_counts(mnist.train.labels) ==
            std::array<int64_t, 10>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});
    REQUIRE(class_counts(mnist.test.labels) ==
            std::array<int64_t, 10>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
    const auto norm = sweep::data::compute_normalization(mnist.train.images);
    REQUIRE(norm.mean == Approx(0.1307).margin(1e-4));  // the values every MNIST example uses
    REQUIRE(norm.std == Approx(0.3081).margin(1e-4));
}

TEST_CASE("data: the MNIST subset has 200 training and 50 test images per class", "[data]") {
    const std::string dir = kSharedData + "/mnist-mini";
    if (!std::filesystem::is_directory(dir)) {
        WARN("no " << dir << "; skipped");
        return;
    }
    const auto mini = sweep::data::load_dataset("mnist", dir, 0, 0);
    std::array<int64_t, 10> per_class{};
    per_class.fill(200);
    REQUIRE(class_counts(mini.train.labels) == per_class);
    per_class.fill(50);
    REQUIRE(class_counts(mini.test.labels) == per_class);
}
