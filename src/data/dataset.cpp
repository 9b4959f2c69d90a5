// Dispatch from a data set's name to its reader; the contract is in data.hpp.
#include "common/error.hpp"
#include "data/data.hpp"

namespace sweep::data {

const std::vector<std::string>& dataset_names() {
    static const std::vector<std::string> kNames = {"mnist", "fashion-mnist", "cifar10"};
    return kNames;
}

std::vector<std::string> dataset_files(const std::string& name, const std::string& dir) {
    if (name == "cifar10") return cifar10_files(dir);
    const IdxFiles files = find_idx_files(dir);
    return {files.train_images, files.train_labels, files.test_images, files.test_labels};
}

Dataset load_dataset(const std::string& name, const std::string& dir, int64_t train_limit,
                     int64_t test_limit) {
    if (name == "cifar10") return load_cifar10(dir, train_limit, test_limit);
    if (name == "mnist" || name == "fashion-mnist") {
        return load_idx_dataset(name, dir, train_limit, test_limit);
    }
    throw DataError(name + ": unknown data set; expected mnist, fashion-mnist or cifar10");
}

}  // namespace sweep::data
