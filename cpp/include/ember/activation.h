// Public activation API (filled in by its own change).
#pragma once

#include "ember/tensor.h"
