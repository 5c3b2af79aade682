// Compiled by //mlops/core:call_compile_error_test, never by the build. Without BAD every call below
// compiles (a control: the headers are all found and the good calls are accepted). With
// BAD, each call marked "want:" must fail to compile, and the first error the compiler
// reports for that line must be the one named (the script matches errors to lines by the
// compiler's "required from here" notes).
#include <string>
#include <vector>

#include "mlops/core/workspace.h"

struct NoCodec {};  // a type with no mlops::Codec

void Use(mlops::Workspace& ws) {
  const auto step = mlops::MakeStep(
      "step", 1, [](mlops::Context&, int n, const std::vector<double>& v, const mlops::File& f) {
        return n + static_cast<int>(v.size() + f.path().size());
      });
  const std::vector<double> v = {1.0};
  const mlops::Stored<std::vector<double>> stored_v(v);
  const mlops::Stored<int> stored_n(3);
  // Arguments that fit: exact types, Stored<T> for T, implicit conversions.
  (void)ws.Call(step, 1, v, mlops::File("x"));
  (void)ws.Call(step, stored_n, stored_v, mlops::File("x"));
  (void)ws.Call(step, 'c', std::vector<double>{}, mlops::File("x"));
  (void)ws.Call(mlops::CallOptions{}, step, 1, v, mlops::File("x"));

#ifdef BAD
  const auto no_codec = mlops::MakeStep("no codec", 1, [](const NoCodec&) { return 1; });
  (void)ws.Call(step, std::string("no int"), v, mlops::File("x"));  // want: type
  (void)ws.Call(step, 1, std::vector<std::string>{"a"}, mlops::File("x"));  // want: type
  (void)ws.Call(step, 1, v, std::string("x"));  // want: type (a File must be named a File)
  (void)ws.Call(step, 1, mlops::Stored<std::string>(std::string("s")), mlops::File("x"));  // want: type
  (void)ws.Call(no_codec, NoCodec{});  // want: codec
  (void)ws.Call(step, 1, v);  // want: count
  (void)ws.Call(step, 1, v, mlops::File("x"), 2);  // want: count
  (void)ws.Call(mlops::CallOptions{}, step, 1);  // want: count
  (void)ws.Call(step, 3.7, v, mlops::File("x"));  // want: type (narrowing: 3.7 keyed as 3)
  int calls = 0;
  (void)mlops::MakeStep("counter", 1, [calls]() mutable { return ++calls; });  // want: mutable
#endif
}
