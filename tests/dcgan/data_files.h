// Test helpers of the DCGAN example's tests: the dataset-file writers of support/data_files.h and
// a tiny Fashion-MNIST training configuration.
#pragma once
#include <string>

#include "support/data_files.h"
#include "trainer.h"

namespace test_files {

// Two steps of keras-small on 64 Fashion-MNIST images into `out`.
inline dcgan::TrainConfig tiny_fashion_config(const std::string& out) {
  dcgan::TrainConfig c;
  c.dataset = "fashion-mnist";
  c.arch = "keras-small";
  c.batch = 16;
  c.steps = 2;
  c.max_images = 64;
  c.samples = 4;
  c.out = out;
  return c;
}

}  // namespace test_files
