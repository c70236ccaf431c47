// C++ symbolizer fixture: namespaces, templates, lambdas, virtual calls, exceptions (cold
// paths), operator overloads; built at test time by tests/test_symbols_oracle.sh.
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace symfix {
template <typename T> struct Acc {
    T total{};
    inline void add(T v) { total += v * v + 1; }
    T get() const { return total; }
};

template <typename T> __attribute__((noinline)) T sum_sq(const std::vector<T> &v) {
    Acc<T> a;
    for (auto x : v) a.add(x);
    return a.get();
}

struct Shape {
    virtual ~Shape() {}
    virtual double area() const = 0;
};
struct Sq : Shape {
    double s;
    explicit Sq(double v) : s(v) {}
    double area() const override { return s * s; }
};
struct Circ : Shape {
    double r;
    explicit Circ(double v) : r(v) {}
    double area() const override { return 3.14159 * r * r; }
};

__attribute__((noinline)) double total_area(const std::vector<Shape *> &v) {
    double t = 0;
    for (auto *s : v) t += s->area();
    return t;
}

__attribute__((noinline)) int parse_int(const std::string &s) {
    if (s.empty()) throw std::invalid_argument("empty");
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') throw std::invalid_argument("digit");
        v = v * 10 + (c - '0');
    }
    return v;
}

struct Vec2 {
    int x, y;
    Vec2 operator+(const Vec2 &o) const { return {x + o.x, y + o.y}; }
};

__attribute__((noinline)) int count_words(const std::vector<std::string> &w) {
    std::map<std::string, int> m;
    for (auto &s : w) m[s]++;
    int best = 0;
    for (auto &kv : m) best = kv.second > best ? kv.second : best;
    return best;
}
} // namespace symfix

int main(int argc, char **argv) {
    (void)argv;
    std::vector<int> v;
    for (int i = 0; i < argc * 10; i++) v.push_back(i);
    long t = symfix::sum_sq(v) + (long)symfix::sum_sq(std::vector<double>{1.5, 2.5});
    std::vector<symfix::Shape *> sh{new symfix::Sq(2), new symfix::Circ(1)};
    t += (long)symfix::total_area(sh);
    for (auto *s : sh) delete s;
    auto lam = [&](int k) { return symfix::parse_int(std::to_string(k)) + (int)t; };
    try {
        t += lam(argc) + symfix::parse_int(argc > 5 ? "x" : "12");
    } catch (const std::exception &e) {
        std::printf("err %s\n", e.what());
    }
    symfix::Vec2 a{1, 2}, b{3, 4};
    t += (a + b).x + symfix::count_words({"a", "b", "a"});
    std::printf("%ld\n", t);
    return 0;
}
