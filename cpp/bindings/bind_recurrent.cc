// ember._C._rnn
#include "common.h"

namespace ember::py_bind {

void bind_recurrent(py::module_& m) { m.def_submodule("_rnn"); }

}  // namespace ember::py_bind
