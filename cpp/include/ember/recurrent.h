// Public recurrent API (filled in by its own change).
#pragma once

#include "ember/tensor.h"
