// Everything an embedding application needs: #include <ember/ember.h>
#pragma once

#include "ember/autograd.h"
#include "ember/dtype.h"
#include "ember/error.h"
#include "ember/ops.h"
#include "ember/random.h"
#include "ember/tensor.h"
