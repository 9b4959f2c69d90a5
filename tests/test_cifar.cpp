// Tests of src/data's CIFAR-10 reader: record layout, damaged files, lookup and limits.
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include "support.hpp"

#include "common/error.hpp"
#include "data/data.hpp"

namespace {

namespace fs = std::filesystem;
namespace data = sweep::data;
using Catch::Contains;
using sweep::DataError;

constexpr int64_t kImageBytes = 3 * 32 * 32;
constexpr int64_t kRecordBytes = 1 + kImageBytes;

// Where the development copy of real CIFAR-10 records lives, beside the checkout (see
// shared/data/README.md); the tests that read it are skipped when it is absent.
const std::string kMiniCifarDir =
    std::string(SWEEP_SHARED_DATA) + "/cifar10-mini/cifar-10-batches-bin";

using sweep::testing::TempDir;

// One record's image whose every pixel tells where it sits: plane, row, column and record.
std::vector<uint8_t> marked_image(int record) {
    std::vector<uint8_t> pixels(static_cast<size_t>(kImageBytes));
    for (int plane = 0; plane < 3; ++plane) {
        for (int row = 0; row < 32; ++row) {
            for (int col = 0; col < 32; ++col) {
                pixels[static_cast<size_t>((plane * 32 + row) * 32 + col)] =
                    static_cast<uint8_t>(plane * 80 + row * 2 + col + record * 7);
            }
        }
    }
    return pixels;
}

// The bytes of a batch file: for each label, the label byte then that record's marked image.
std::vector<uint8_t> batch_bytes(const std::vector<uint8_t>& labels, int first_record = 0) {
    std::vector<uint8_t> bytes;
    for (size_t index = 0; index < labels.size(); ++index) {
        bytes.push_back(labels[index]);
        const std::vector<uint8_t> image = marked_image(first_record + static_cast<int>(index));
        bytes.insert(bytes.end(), image.begin(), image.end());
    }
    return bytes;
}

void write_raw(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

// Writes a whole batches directory: five training batches of `per_batch` records and a test
// batch of `test_count`, labels cycling 0 .. 9, records numbered across the training batches.
void write_cifar_dir(const std::string& dir, int per_batch, int test_count) {
    fs::create_directories(dir);
    for (int batch = 0; batch < 5; ++batch) {
        std::vector<uint8_t> labels;
        for (int index = 0; index < per_batch; ++index) {
            labels.push_back(static_cast<uint8_t>((batch * per_batch + index) % 10));
        }
        write_raw(dir + "/data_batch_" + std::to_string(batch + 1) + ".bin",
                  batch_bytes(labels, batch * per_batch));
    }
    std::vector<uint8_t> test_labels;
    for (int index = 0; index < test_count; ++index) {
        test_labels.push_back(static_cast<uint8_t>(9 - index % 10));
    }
    write_raw(dir + "/test_batch.bin", batch_bytes(test_labels, 1000));
}

std::vector<int64_t> class_counts(const std::vector<uint8_t>& labels) {
    std::vector<int64_t> counts(10, 0);
    for (const uint8_t label : labels) {
        ++counts.at(label);
    }
    return counts;
}

}  // namespace

TEST_CASE("data: CIFAR-10 records round trip through a batch file", "[data]") {
    TempDir dir;
    const std::vector<uint8_t> labels = {3, 0, 9};
    write_raw(dir.file("batch.bin"), batch_bytes(labels));

    const data::Split split = data::read_cifar_batch(dir.file("batch.bin"));
    CHECK(split.images.count == 3);
    CHECK(split.images.channels == 3);
    CHECK(split.images.rows == 32);
    CHECK(split.images.cols == 32);
    CHECK(split.images.image_size() == kImageBytes);
    CHECK(split.labels == labels);
    REQUIRE(split.images.pixels.size() == static_cast<size_t>(3 * kImageBytes));
    for (int record = 0; record < 3; ++record) {
        const auto begin = split.images.pixels.begin() + record * kImageBytes;
        CHECK(std::vector<uint8_t>(begin, begin + kImageBytes) == marked_image(record));
    }
}

TEST_CASE("data: CIFAR-10 pixels stay planes first, red then green then blue", "[data]") {
    TempDir dir;
    std::vector<uint8_t> bytes = {4};
    for (const uint8_t plane_value : {200, 100, 50}) {
        bytes.insert(bytes.end(), 1024, plane_value);
    }
    bytes[1 + 0 * 1024 + 1 * 32 + 2] = 201;  // red, row 1, column 2
    bytes[1 + 2 * 1024 + 31 * 32 + 0] = 51;  // blue, row 31, column 0
    write_raw(dir.file("batch.bin"), bytes);

    const data::Split split = data::read_cifar_batch(dir.file("batch.bin"));
    const std::vector<uint8_t>& pixels = split.images.pixels;
    REQUIRE(pixels.size() == static_cast<size_t>(kImageBytes));
    const auto at = [&pixels](int plane, int row, int col) {
        return pixels[static_cast<size_t>((plane * 32 + row) * 32 + col)];
    };
    CHECK(at(0, 0, 0) == 200);
    CHECK(at(0, 1, 2) == 201);
    CHECK(at(1, 16, 16) == 100);
    CHECK(at(2, 0, 0) == 50);
    CHECK(at(2, 31, 0) == 51);
    CHECK(at(2, 31, 31) == 50);
}

TEST_CASE("data: a truncated CIFAR-10 batch names the file, its size and the cut record",
          "[data]") {
    TempDir dir;
    std::vector<uint8_t> bytes = batch_bytes({1, 2});
    bytes.resize(bytes.size() - 100);
    write_raw(dir.file("data_batch_1.bin"), bytes);

    CHECK_THROWS_WITH(data::read_cifar_batch(dir.file("data_batch_1.bin")),
                      Contains(dir.file("data_batch_1.bin")) &&
                          Contains("size " + std::to_string(2 * kRecordBytes - 100)) &&
                          Contains("byte " + std::to_string(kRecordBytes)));

    write_raw(dir.file("empty.bin"), {});
    CHECK_THROWS_WITH(data::read_cifar_batch(dir.file("empty.bin")),
                      Contains(dir.file("empty.bin")) && Contains("empty"));
    CHECK_THROWS_AS(data::read_cifar_batch(dir.file("absent.bin")), DataError);
}

TEST_CASE("data: a CIFAR-10 label above 9 is reported with its byte offset and value", "[data]") {
    TempDir dir;
    write_raw(dir.file("batch.bin"), batch_bytes({0, 9, 10, 1}));

    CHECK_THROWS_WITH(data::read_cifar_batch(dir.file("batch.bin")),
                      Contains(dir.file("batch.bin")) && Contains("label 10") &&
                          Contains("byte " + std::to_string(2 * kRecordBytes)));
}

TEST_CASE("data: missing CIFAR-10 files are listed with the directory", "[data]") {
    TempDir dir;
    CHECK_FALSE(data::is_cifar_dir(dir.path()));
    CHECK_THROWS_WITH(data::load_cifar10(dir.path(), 0, 0), Contains(dir.path()) &&
                                                                Contains("data_batch_1.bin") &&
                                                                Contains("test_batch.bin"));

    write_cifar_dir(dir.path(), 2, 2);
    fs::remove(dir.file("data_batch_3.bin"));
    fs::remove(dir.file("test_batch.bin"));
    CHECK(data::is_cifar_dir(dir.path()));
    try {
        data::load_cifar10(dir.path(), 0, 0);
        FAIL("load_cifar10 accepted a directory without data_batch_3.bin and test_batch.bin");
    } catch (const DataError& error) {
        const std::string message = error.what();
        CHECK_THAT(message, Contains(dir.path()) && Contains("data_batch_3.bin") &&
                                Contains("test_batch.bin"));
        CHECK_THAT(message, !Contains("data_batch_1.bin"));
    }
}

TEST_CASE("data: CIFAR-10 loads from the batches directory or from its parent", "[data]") {
    TempDir dir;
    const std::string batches = dir.file("cifar-10-batches-bin");
    write_cifar_dir(batches, 3, 4);

    CHECK(data::is_cifar_dir(batches));
    CHECK(data::is_cifar_dir(dir.path()));
    const data::Dataset direct = data::load_cifar10(batches, 0, 0);
    const data::Dataset parent = data::load_cifar10(dir.path(), 0, 0);

    CHECK(direct.name == "cifar10");
    CHECK(direct.class_count == 10);
    CHECK(direct.train.images.count == 15);
    CHECK(direct.test.images.count == 4);
    CHECK(parent.train.labels == direct.train.labels);
    CHECK(parent.train.images.pixels == direct.train.images.pixels);
    CHECK(parent.test.labels == direct.test.labels);

    // Batches are concatenated in order 1 .. 5: record 7 is the second of data_batch_3.bin.
    const auto begin = direct.train.images.pixels.begin() + 7 * kImageBytes;
    CHECK(std::vector<uint8_t>(begin, begin + kImageBytes) == marked_image(7));
    CHECK(direct.train.labels[7] == 7);
    CHECK(direct.class_names == std::vector<std::string>{"airplane", "automobile", "bird", "cat",
                                                         "deer", "dog", "frog", "horse", "ship",
                                                         "truck"});
}

TEST_CASE("data: CIFAR-10 class names come from batches.meta.txt when present", "[data]") {
    TempDir dir;
    write_cifar_dir(dir.path(), 1, 1);
    {
        std::ofstream meta(dir.file("batches.meta.txt"));
        meta << "c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9 \r\n\n";
    }
    const data::Dataset dataset = data::load_cifar10(dir.path(), 0, 0);
    REQUIRE(dataset.class_names.size() == 10);
    CHECK(dataset.class_names.front() == "c0");
    CHECK(dataset.class_names.back() == "c9");

    {
        std::ofstream meta(dir.file("batches.meta.txt"));
        meta << "only\ntwo\n";
    }
    CHECK_THROWS_WITH(data::load_cifar10(dir.path(), 0, 0),
                      Contains("batches.meta.txt") && Contains("holds 2 class names"));
}

TEST_CASE("data: CIFAR-10 limits keep the first examples and reject more than there are",
          "[data]") {
    TempDir dir;
    write_cifar_dir(dir.path(), 4, 6);

    const data::Dataset dataset = data::load_cifar10(dir.path(), 5, 2);
    CHECK(dataset.train.images.count == 5);
    CHECK(dataset.train.labels == std::vector<uint8_t>{0, 1, 2, 3, 4});
    CHECK(dataset.train.images.pixels.size() == static_cast<size_t>(5 * kImageBytes));
    const auto last = dataset.train.images.pixels.begin() + 4 * kImageBytes;
    CHECK(std::vector<uint8_t>(last, last + kImageBytes) == marked_image(4));
    CHECK(dataset.test.images.count == 2);
    CHECK(dataset.test.labels == std::vector<uint8_t>{9, 8});

    CHECK_THROWS_WITH(data::load_cifar10(dir.path(), 21, 0),
                      Contains("train_limit 21") && Contains("20 examples"));
    CHECK_THROWS_WITH(data::load_cifar10(dir.path(), 0, 7),
                      Contains("test_batch.bin") && Contains("test_limit 7"));
}

TEST_CASE("data: the real CIFAR-10 sample holds 2000 + 500 images, 200 per training class",
          "[data]") {
    if (!fs::is_directory(kMiniCifarDir)) {
        WARN("skipped: " << kMiniCifarDir << " does not exist");
        return;
    }
    const data::Dataset dataset = data::load_cifar10(kMiniCifarDir, 0, 0);
    CHECK(dataset.train.images.count == 2000);
    CHECK(dataset.test.images.count == 500);
    CHECK(dataset.train.images.pixels.size() == static_cast<size_t>(2000 * kImageBytes));
    CHECK(class_counts(dataset.train.labels) == std::vector<int64_t>(10, 200));
    CHECK(dataset.class_names.front() == "airplane");
    CHECK(dataset.class_names.back() == "truck");

    const data::Split first =
        data::read_cifar_batch(std::string(kMiniCifarDir) + "/data_batch_1.bin");
    CHECK(first.images.count == 400);
    CHECK(class_counts(first.labels) == std::vector<int64_t>(10, 40));
}
