// libFuzzer target: any bytes as an IDX file (raw or gzip), read as images, as labels of 10
// classes and as a bare header. DataError is the reader refusing bad input; any other
// exception escapes, and a result that breaks the contract in data.hpp aborts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/data.hpp"
#include "scratch_file.hpp"

namespace {

constexpr int kClassCount = 10;  // what every data set sweep reads has

void check_images(const std::string& path) {
    try {
        const sweep::data::ImageSet images = sweep::data::read_idx_images(path);
        fuzz::require(images.count > 0 && images.rows > 0 && images.cols > 0,
                      "images have positive dimensions");
        fuzz::require(
            static_cast<int64_t>(images.pixels.size()) == images.count * images.image_size(),
            "pixels hold count x rows x cols bytes");
    } catch (const sweep::DataError&) {
    }
}

void check_labels(const std::string& path) {
    try {
        const std::vector<uint8_t> labels = sweep::data::read_idx_labels(path, kClassCount);
        fuzz::require(!labels.empty(), "a label file holds at least one label");
        for (const uint8_t label : labels) {
            fuzz::require(label < kClassCount, "every label lies in 0 .. class_count - 1");
        }
    } catch (const sweep::DataError&) {
    }
}

void check_count(const std::string& path) {
    try {
        fuzz::require(sweep::data::read_idx_count(path) > 0, "an item count is positive");
    } catch (const sweep::DataError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::write_scratch_file(data, size);
    check_images(path);
    check_labels(path);
    check_count(path);
    return 0;
}
