// (being written)
#include "support/test_support.h"
