// ember::nn: modules for C++ programs (layers, activations, containers, initialisation), over
// the same ops as Python's ember.nn. A model built here with the names Python gives loads a
// checkpoint that Python saved, and the other way round.
#pragma once

#include "ember/nn/activation.h"
#include "ember/nn/containers.h"
#include "ember/nn/init.h"
#include "ember/nn/layers.h"
#include "ember/nn/loss.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"
