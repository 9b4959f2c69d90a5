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

}  // namespace sweep::train
