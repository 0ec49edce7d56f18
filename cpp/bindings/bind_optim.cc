// ember._C._optim
#include "common.h"

namespace ember::py_bind {

void bind_optim(py::module_& m) { m.def_submodule("_optim"); }

}  // namespace ember::py_bind
