// Compiled by //mlops/pipeline:pipeline_compile_error_test, never by the build. Without BAD every line
// below compiles (a control: the headers are all found and the good wiring is accepted).
// With BAD, each line marked "want:" must fail to compile, and the first error the
// compiler reports for that line must be the one named.
#include <string>
#include <tuple>
#include <vector>

#include "mlops/pipeline/pipeline.h"

struct NoCodec {};  // a type with no mlops::Codec

void Use() {
  const auto count = mlops::MakeStep("count", 1, [](const std::string& s) {
    return static_cast<int>(s.size());
  });
  const auto repeat = mlops::MakeStep("repeat", 1, [](int n, const std::vector<double>& v) {
    std::vector<double> out;
    for (int i = 0; i < n; ++i) out.insert(out.end(), v.begin(), v.end());
    return out;
  });
  const auto size = mlops::MakeStep("size", 1, [](const mlops::File& f) {
    return static_cast<int>(f.path().size());
  });
  const auto halves = mlops::MakeStep("halves", 1, [](const std::vector<double>& v) {
    return std::make_tuple(v, static_cast<int>(v.size()));
  });
  mlops::Pipeline p("errors");
  // Wiring that fits: handles of the parameter's type, literals, Stored<T>, conversions.
  mlops::Handle<std::string> text = p.Add("text", mlops::MakeStep("text", 1, [](int n) {
    return std::string(static_cast<size_t>(n), 'x');
  }), 3);
  mlops::Handle<int> n = p.Add("count", count, text);
  mlops::Handle<std::vector<double>> v = p.Add("repeat", repeat, n, std::vector<double>{1.0});
  mlops::Handle<int> from_file = p.Add("size", size, mlops::File("x"));
  auto [whole, half_count] = p.Add("halves", halves, v);
  (void)p.Add("repeat2", repeat, half_count, whole);
  (void)p.Add("repeat3", repeat, 'c', mlops::Stored<std::vector<double>>(std::vector<double>{}));
  (void)from_file;

#ifdef BAD
  const auto no_codec = mlops::MakeStep("no codec", 1, [](const NoCodec&) { return 1; });
  (void)p.Add("bad0", no_codec, NoCodec{});  // want: codec
  (void)p.Add("bad1", repeat, text, v);  // want: type (a Handle<string> for an int)
  (void)p.Add("bad2", count, n);  // want: type (a Handle<int> for a string)
  (void)p.Add("bad3", repeat, n, n);  // want: type (a Handle<int> for a vector<double>)
  (void)p.Add("bad4", size, text);  // want: type (a Handle<string> for a File)
  (void)p.Add("bad5", repeat, 3.7, v);  // want: type (narrowing: 3.7 keyed as 3)
  (void)p.Add("bad6", repeat, n);  // want: count (too few inputs)
  (void)p.Add("bad7", repeat, n, v, v);  // want: count (too many inputs)
  mlops::Handle<double> wrong = p.Add("bad8", count, text);  // want: convert
  std::tuple<mlops::Handle<int>, mlops::Handle<int>> two = p.Add("bad9", halves, v);  // want: convert
#endif
}
