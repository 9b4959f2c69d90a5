// Owns the layout of a prepared data set's tensors, shared by the training loops of train.cpp
// and packed.cpp. Private to src/train: it needs LibTorch, which callers must not include.
// Not safe across threads while a unit trains on them (see train.hpp).
#pragma once

#include <torch/torch.h>

#include "train/train.hpp"

namespace sweep::train {

struct PreparedData::Tensors {
    torch::Tensor train_images;  // count × channels × rows × cols, float, normalized
    torch::Tensor test_images;
    torch::Tensor test_labels;  // int64
};

// The Torch device of a worker's Device.
torch::Device torch_device(const Device& device);

// Class labels as an int64 tensor on `device`.
torch::Tensor label_tensor(const std::vector<uint8_t>& labels, const torch::Device& device);

// Fills result's scores (softmax), predictions and confusion matrix from the final model's
// test logits (test images × classes, on the CPU).
void record_final_test(const torch::Tensor& logits, const data::Dataset& dataset,
                       UnitResult& result);

}  // namespace sweep::train
