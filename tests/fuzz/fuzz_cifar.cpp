// libFuzzer target: any bytes as a CIFAR-10 batch file. DataError is the reader refusing bad
// input; any other exception escapes, and a result that breaks the contract in data.hpp aborts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "data/data.hpp"
#include "scratch_file.hpp"

namespace {

constexpr int64_t kRecordBytes = 1 + 3 * 32 * 32;  // the label byte, then R, G, B planes

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::write_scratch_file(data, size);
    try {
        const sweep::data::Split split = sweep::data::read_cifar_batch(path);
        const sweep::data::ImageSet& images = split.images;
        fuzz::require(images.count * kRecordBytes == static_cast<int64_t>(size),
                      "one record per 3073 bytes of the file");
        fuzz::require(images.channels == 3 && images.rows == 32 && images.cols == 32,
                      "images are 3 x 32 x 32");
        fuzz::require(static_cast<int64_t>(split.labels.size()) == images.count,
                      "one label per image");
        fuzz::require(
            static_cast<int64_t>(images.pixels.size()) == images.count * images.image_size(),
            "pixels hold count x 3072 bytes");
        for (const uint8_t label : split.labels) {
            fuzz::require(label < 10, "every label lies in 0 .. 9");
        }
    } catch (const sweep::DataError&) {
    }
    return 0;
}
