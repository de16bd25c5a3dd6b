#include "solver/sundials_flags.hpp"

#include <cvodes/cvodes.h>
#include <cvodes/cvodes_ls.h>

#include <cstdlib>
#include <memory>

namespace osteogrn::detail {

namespace {
// CVodeGet*ReturnFlagName return a malloc'ed string that the caller frees.
std::string take(char* name, int flag) {
  std::unique_ptr<char, decltype(&std::free)> owned(name, &std::free);
  if (!owned) return "flag " + std::to_string(flag);
  return std::string(owned.get());
}
}  // namespace

std::string cvode_flag_name(int flag) { return take(CVodeGetReturnFlagName(flag), flag); }

std::string cvode_linear_flag_name(int flag) {
  return take(CVodeGetLinReturnFlagName(flag), flag);
}

}  // namespace osteogrn::detail
