#include "mlops/core/callable_id.h"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mlops {
namespace {

// Types compare by their mangled names, not by type_info identity: a lambda in a header
// is a distinct type in each file that includes it, yet one function. (libstdc++'s name()
// already drops the '*' that marks internal linkage; this is for other libraries.)
const char* Plain(const char* name) { return name[0] == '*' ? name + 1 : name; }

std::string Demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && out != nullptr ? std::string(out.get()) : std::string(mangled);
}

}  // namespace

bool operator==(const CallableId& a, const CallableId& b) {
  if (a.type == nullptr || b.type == nullptr) return a.type == b.type;
  return a.address == b.address && std::strcmp(Plain(a.type), Plain(b.type)) == 0;
}

std::string CallableId::Describe() const {
  if (type == nullptr) return "an unknown callable";
  const std::string type_name = Demangle(Plain(type));
  if (address != nullptr) {
    Dl_info info;
    if (::dladdr(address, &info) != 0 && info.dli_sname != nullptr &&
        info.dli_saddr == address) {
      return absl::StrCat("function ", Demangle(info.dli_sname));
    }
    // Not exported (a program linked without -rdynamic): say where it is, which
    // `addr2line -f -C -e FILE OFFSET` turns into a name.
    if (::dladdr(address, &info) != 0 && info.dli_fname != nullptr) {
      const uintptr_t offset = reinterpret_cast<uintptr_t>(address) -
                               reinterpret_cast<uintptr_t>(info.dli_fbase);
      return absl::StrCat("function of type ", type_name, " at ", info.dli_fname, "+0x",
                          absl::Hex(offset), " (addr2line -f -C -e ", info.dli_fname, " 0x",
                          absl::Hex(offset), " names it)");
    }
    return absl::StrCat("function of type ", type_name, " at 0x",
                        absl::Hex(reinterpret_cast<uintptr_t>(address)));
  }
  if (absl::StrContains(type_name, "{lambda")) return absl::StrCat("lambda ", type_name);
  return absl::StrCat("callable of type ", type_name);
}

}  // namespace mlops
