"""The usual way to train LeNet-5 in PyTorch, timed, for comparison with sweep's trainer.

Usage: pytorch_baseline.py DATA_DIR [--threads N] [--start-at UNIX_SECONDS] [--seed S]

Reads the Fashion-MNIST IDX files (gzip or raw) from DATA_DIR, normalizes them with the
training split's mean and standard deviation, then trains one epoch the way the PyTorch
examples do: a TensorDataset behind a shuffling DataLoader (batch 64), plain NCHW tensors,
SGD with momentum, and the loss and accuracy taken with .item() every batch. The test split is
evaluated at batch 1,000. Prints one JSON line: train and test images per second, and the
wall-clock start and end of the training epoch, so that a caller running several of these at
once can compute their aggregate rate over the span they overlap.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

TRAIN_BATCH = 64  # as sweep's default batch_size
TEST_BATCH = 1000  # as sweep's default test_batch_size
LEARNING_RATE = 0.01
MOMENTUM = 0.9


def read_idx(directory, stem):
    """One IDX file as a numpy array, trying stem.gz then stem."""
    path = os.path.join(directory, stem)
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as stream:
            content = stream.read()
    else:
        with open(path, "rb") as stream:
            content = stream.read()
    dims = content[3]
    shape = struct.unpack(">" + "I" * dims, content[4:4 + 4 * dims])
    return np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(directory, prefix):
    images = read_idx(directory, prefix + "-images-idx3-ubyte")
    labels = read_idx(directory, prefix + "-labels-idx1-ubyte")
    return torch.from_numpy(images.copy()).float().div_(255).unsqueeze(1), \
        torch.from_numpy(labels.copy()).long()


class LeNet5(nn.Module):
    """The architecture of sweep's src/model/lenet.cpp for 1x28x28 inputs."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def train_epoch(model, loader, optimizer):
    model.train()
    loss_sum, correct = 0.0, 0
    for images, target in loader:
        optimizer.zero_grad()
        output = model(images)
        loss = F.cross_entropy(output, target)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * images.size(0)
        correct += (output.argmax(1) == target).sum().item()
    return loss_sum, correct


def evaluate(model, images, labels):
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, images.size(0), TEST_BATCH):
            output = model(images[start:start + TEST_BATCH])
            correct += (output.argmax(1) == labels[start:start + TEST_BATCH]).sum().item()
    return correct / images.size(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--start-at", type=float, default=0,
                        help="wait until this Unix time before training, to line up processes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    train_images, train_labels = load_split(args.data_dir, "train")
    test_images, test_labels = load_split(args.data_dir, "t10k")
    mean, std = train_images.mean().item(), train_images.std().item()
    train_images.sub_(mean).div_(std)
    test_images.sub_(mean).div_(std)
    loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=TRAIN_BATCH,
                        shuffle=True)
    model = LeNet5()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)

    time.sleep(max(0.0, args.start_at - time.time()))
    train_start = time.time()
    loss_sum, correct = train_epoch(model, loader, optimizer)
    train_end = time.time()
    test_accuracy = evaluate(model, test_images, test_labels)
    test_seconds = time.time() - train_end

    count = train_images.size(0)
    print(json.dumps({
        "trainer": "pytorch",
        "threads": args.threads,
        "train_images": count,
        "train_seconds": train_end - train_start,
        "train_images_per_second": count / (train_end - train_start),
        "test_images_per_second": test_images.size(0) / test_seconds,
        "train_start": train_start,
        "train_end": train_end,
        "train_loss": loss_sum / count,
        "train_accuracy": correct / count,
        "test_accuracy": test_accuracy,
    }))


if __name__ == "__main__":
    main()
