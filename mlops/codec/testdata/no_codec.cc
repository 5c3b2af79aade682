// Compiled by codec_compile_error_test.sh, never by the build: using a type that has no
// codec must fail to compile with a message that names the type and says how to add a codec.
#include <vector>

#include "mlops/codec/codec.h"

namespace user {
struct NoCodecType {
  int a = 0;
};
}  // namespace user

#ifdef NESTED
std::string Use() { return mlops::Encode(std::vector<user::NoCodecType>(1)); }
#else
mlops::Digest Use() { return mlops::Hash(user::NoCodecType{}); }
#endif
