// Owns the image data sets: IDX readers (gzip or raw), normalization, symmetric label noise.
// Needs zlib only; knows nothing of MPI, HDF5 or Torch.
// Safe across threads: functions are pure or only read files.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sweep::data {

// Images as stored on disk: count × channels × rows × cols bytes, row-major, planes first.
struct ImageSet {
    int64_t count = 0;
    int channels = 1;
    int rows = 0;
    int cols = 0;
    std::vector<uint8_t> pixels;

    int64_t image_size() const { return int64_t{channels} * rows * cols; }
};

// A data set split, images with their class labels (0 .. class_count - 1).
struct Split {
    ImageSet images;
    std::vector<uint8_t> labels;
};

struct Dataset {
    std::string name;  // "mnist", "fashion-mnist", "cifar10"
    int class_count = 10;
    std::vector<std::string> class_names;
    Split train;
    Split test;
};

// Reads an IDX file (magic 0x0803 for images, 0x0801 for labels), gzip-compressed or raw
// (detected from the content, not the name). Throws DataError naming the file, the byte
// offset and what is wrong: bad magic, bad dimensions, truncated data, a cut gzip stream.
ImageSet read_idx_images(const std::string& path);
std::vector<uint8_t> read_idx_labels(const std::string& path, int class_count);

// Reads only the header of an IDX file and returns its item count; used to validate the
// data files of a whole plan before anything trains.
int64_t read_idx_count(const std::string& path);

// The four file names of an IDX data set, in a directory, trying ".gz" then raw:
// train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...
struct IdxFiles {
    std::string train_images, train_labels, test_images, test_labels;
};
IdxFiles find_idx_files(const std::string& dir);  // throws DataError listing what is missing

// Where a data set lives, in this order: explicit_dir (the study's data_dir) when not empty;
// else <root>/<name> for each root of search_root (--data-dir), $SWEEP_DATA_DIR and "data";
// else, for fashion-mnist, Debian's /usr/share/datasets/fashion-mnist. Throws DataError
// saying where it looked and the command that fetches the data set.
std::string locate(const std::string& name, const std::string& explicit_dir,
                   const std::string& search_root = "");

// Loads a whole IDX data set (checks that image and label counts agree in each split),
// keeping only the first train_limit / test_limit examples when those are > 0.
Dataset load_idx_dataset(const std::string& name, const std::string& dir, int64_t train_limit,
                         int64_t test_limit);

// Reads one CIFAR-10 batch file (the official binary version): records of 1 label byte and
// 3 × 32 × 32 pixel bytes, the R, G and B planes in turn, each row-major; kept as stored.
// Throws DataError naming the file and the byte offset: a size that is not a positive
// multiple of 3073 (the offset where the partial record starts), a label above 9.
Split read_cifar_batch(const std::string& path);

// True when dir, or dir/cifar-10-batches-bin, holds any CIFAR-10 batch file; load_cifar10
// then says which of the others are missing.
bool is_cifar_dir(const std::string& dir);

// The batch files load_cifar10 reads from dir, training batches first; DataError if any lacks.
std::vector<std::string> cifar10_files(const std::string& dir);

// Loads CIFAR-10 from the batches directory or from its parent: data_batch_1.bin ..
// data_batch_5.bin in that order as the training split, test_batch.bin as the test split,
// the class names from batches.meta.txt when present. Keeps only the first train_limit /
// test_limit examples when those are > 0. Throws DataError listing the missing files.
Dataset load_cifar10(const std::string& dir, int64_t train_limit, int64_t test_limit);

// The data sets sweep reads, by the names study files use.
const std::vector<std::string>& dataset_names();

// The files a data set is read from, in a fixed order (for checksums).
std::vector<std::string> dataset_files(const std::string& name, const std::string& dir);

// Loads any of them from its directory (see locate), keeping the first train_limit /
// test_limit examples when those are > 0.
Dataset load_dataset(const std::string& name, const std::string& dir, int64_t train_limit,
                     int64_t test_limit);

// Per-data-set normalization constants, computed over every pixel of the training split,
// in units of pixel / 255.
struct Normalization {
    double mean = 0;
    double std = 1;
};
Normalization compute_normalization(const ImageSet& train_images);

// Symmetric label noise: in each class c exactly round(epsilon · n_c) labels, chosen at
// random from rng_seed, move to a class drawn uniformly from the other classes.
struct NoisyLabels {
    std::vector<uint8_t> labels;
    std::vector<int64_t> counts;  // class_count × class_count, [true][noisy], row-major
};
NoisyLabels apply_symmetric_noise(const std::vector<uint8_t>& labels, int class_count,
                                  double epsilon, uint64_t rng_seed);

}  // namespace sweep::data
