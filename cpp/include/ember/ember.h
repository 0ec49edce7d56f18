// Everything an embedding application needs: #include <ember/ember.h>
#pragma once

#include "ember/activation.h"
#include "ember/attention.h"
#include "ember/autograd.h"
#include "ember/convolution.h"
#include "ember/dtype.h"
#include "ember/error.h"
#include "ember/graph.h"
#include "ember/io.h"
#include "ember/loss.h"
#include "ember/nn.h"
#include "ember/normalization.h"
#include "ember/ops.h"
#include "ember/optim.h"
#include "ember/random.h"
#include "ember/recurrent.h"
#include "ember/tensor.h"
