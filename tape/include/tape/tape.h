// Umbrella header: everything a user of the tape core needs.
#pragma once
#include "tape/dtype.h"
#include "tape/error.h"
#include "tape/gradcheck.h"
#include "tape/gradient_tape.h"
#include "tape/memory.h"
#include "tape/ops.h"
#include "tape/profiler.h"
#include "tape/random.h"
#include "tape/shape.h"
#include "tape/tensor.h"
#include "tape/threads.h"
#include "tape/variable.h"
