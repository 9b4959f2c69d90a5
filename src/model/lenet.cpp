#include "model/lenet.hpp"

#include <stdexcept>
#include <string>

namespace sweep::model {
namespace {

// First-convolution padding that brings an input of this side to 28×28 feature maps.
int64_t padding_for(int64_t side) {
    if (side == 28) return 2;
    if (side == 32) return 0;
    throw std::invalid_argument("lenet5: input side " + std::to_string(side) +
                                " is not supported; expected 28 or 32");
}

}  // namespace

// The same images in channels-last layout (N, H, W, C in memory). oneDNN, which runs LibTorch's
// CPU convolutions, then computes in that layout instead of converting to and from its own at
// every call, and pooling and ReLU follow it. A single plane is channels-last already, but only
// explicit strides make LibTorch treat it so.
torch::Tensor channels_last(const torch::Tensor& images) {
    if (images.size(1) > 1) return images.contiguous(torch::MemoryFormat::ChannelsLast);
    const torch::Tensor planes = images.contiguous();
    return planes.as_strided(planes.sizes(), {planes.stride(0), 1, planes.stride(2), 1});
}

LeNet5Impl::LeNet5Impl(int64_t channels, int64_t side, int64_t classes) {
    namespace nn = torch::nn;
    conv1_ = register_module(
        "conv1", nn::Conv2d(nn::Conv2dOptions(channels, 6, 5).padding(padding_for(side))));
    conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(6, 16, 5)));
    fc1_ = register_module("fc1", nn::Linear(16 * 5 * 5, 120));
    fc2_ = register_module("fc2", nn::Linear(120, 84));
    fc3_ = register_module("fc3", nn::Linear(84, classes));
}

torch::Tensor LeNet5Impl::forward(torch::Tensor images) {
    namespace F = torch::nn::functional;
    if (images.device().is_cpu()) images = channels_last(images);
    // ReLU after pooling: max and ReLU commute, values and gradients alike, and ReLU then
    // touches a quarter of the maps, forward and backward.
    torch::Tensor x = torch::relu(F::max_pool2d(conv1_(images), F::MaxPool2dFuncOptions(2)));
    x = torch::relu(F::max_pool2d(conv2_(x), F::MaxPool2dFuncOptions(2)));
    x = x.flatten(1);
    x = torch::relu(fc1_(x));
    x = torch::relu(fc2_(x));
    return fc3_(x);
}

}  // namespace sweep::model
