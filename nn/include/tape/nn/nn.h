// Umbrella header for tape::nn: layers, spectral normalization, losses, initializers, optimizers
// and checkpoints.
#pragma once
#include "tape/nn/checkpoint.h"
#include "tape/nn/checkpoint_manager.h"
#include "tape/nn/gan_losses.h"
#include "tape/nn/init.h"
#include "tape/nn/layers.h"
#include "tape/nn/losses.h"
#include "tape/nn/module.h"
#include "tape/nn/optimizers.h"
#include "tape/nn/schedules.h"
#include "tape/nn/spectral_norm.h"
#include "tape/tape.h"
