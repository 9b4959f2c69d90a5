// Owns LeNet-5 for 1×28×28 (MNIST-like) and 3×32×32 (CIFAR-10) inputs.
// Needs LibTorch; include it only from the files that train, as it costs ~10 s per file.
// A module instance is not safe to share across threads while training.
#pragma once

#include <torch/torch.h>

namespace sweep::model {

// conv 5×5 → 6 maps, ReLU, 2×2 max pool, conv 5×5 → 16 maps, ReLU, 2×2 max pool,
// fully connected 400 → 120 → 84 → classes with ReLU between. A 28×28 input is padded by 2
// in the first convolution, so both input sizes reach 16 maps of 5×5.
class LeNet5Impl : public torch::nn::Module {
public:
    LeNet5Impl(int64_t channels, int64_t side, int64_t classes);
    torch::Tensor forward(torch::Tensor images);

private:
    torch::nn::Conv2d conv1_{nullptr};
    torch::nn::Conv2d conv2_{nullptr};
    torch::nn::Linear fc1_{nullptr};
    torch::nn::Linear fc2_{nullptr};
    torch::nn::Linear fc3_{nullptr};
};
TORCH_MODULE(LeNet5);

// The same images in channels-last layout, with strides that say so even for one channel;
// the CPU path of LeNet5Impl::forward and the packed trainer feed convolutions with it.
torch::Tensor channels_last(const torch::Tensor& images);

}  // namespace sweep::model
