// cfrac: many small, short-lived bignums, after the cfrac factoring program
// (Dave Barrett) as the mimalloc-bench suite describes it. Expands sqrt(N)
// as a continued fraction, the first step of the CFRAC method, with a small
// bignum type whose every operation mallocs its result:
//
//   m' = d a - m      d' = (N - m'^2) / d      a' = (a0 + m') / d'
//   p_k = a_k p_{k-1} + p_{k-2} (mod N)
//
// and checks what number theory promises at every step: d divides N - m'^2
// exactly, 0 < d' <= 2 a0, and p_{k-1}^2 = (-1)^k d_k (mod N).
#include "workload.hpp"

#include <utility>

namespace {

using namespace heapkit::workload;
constexpr const char* name = "cfrac";

// A non-negative integer: `n` 32-bit limbs, least significant first, no
// leading zero limb (zero has n == 0). The limbs live in their own malloc block.
class num {
public:
    num() = default;
    explicit num(std::uint64_t v) {
        reserve(2);
        while (v != 0) d_[n_++] = static_cast<std::uint32_t>(v), v >>= 32;
    }
    num(const num& o) { copy(o); }
    num(num&& o) noexcept : d_(std::exchange(o.d_, nullptr)), n_(std::exchange(o.n_, 0)) {}
    num& operator=(const num& o) {
        if (this != &o) std::free(d_), d_ = nullptr, n_ = 0, copy(o);
        return *this;
    }
    num& operator=(num&& o) noexcept {
        std::swap(d_, o.d_);
        std::swap(n_, o.n_);
        return *this;
    }
    ~num() { std::free(d_); }

    bool zero() const { return n_ == 0; }

    friend int compare(const num& a, const num& b) {
        if (a.n_ != b.n_) return a.n_ < b.n_ ? -1 : 1;
        for (std::uint32_t i = a.n_; i-- > 0;)
            if (a.d_[i] != b.d_[i]) return a.d_[i] < b.d_[i] ? -1 : 1;
        return 0;
    }
    friend num operator+(const num& a, const num& b) {
        const num& big = a.n_ >= b.n_ ? a : b;
        const num& small = a.n_ >= b.n_ ? b : a;
        num r;
        r.reserve(big.n_ + 1);
        std::uint64_t carry = 0;
        for (std::uint32_t i = 0; i < big.n_; ++i) {
            carry += static_cast<std::uint64_t>(big.d_[i]) + (i < small.n_ ? small.d_[i] : 0);
            r.d_[i] = static_cast<std::uint32_t>(carry);
            carry >>= 32;
        }
        r.n_ = big.n_;
        if (carry) r.d_[r.n_++] = static_cast<std::uint32_t>(carry);
        return r;
    }
    // a - b, a >= b.
    friend num operator-(const num& a, const num& b) {
        if (compare(a, b) < 0) fail(name, "negative difference");
        num r;
        r.reserve(a.n_);
        std::int64_t borrow = 0;
        for (std::uint32_t i = 0; i < a.n_; ++i) {
            std::int64_t x = static_cast<std::int64_t>(a.d_[i]) - (i < b.n_ ? b.d_[i] : 0) - borrow;
            borrow = x < 0;
            r.d_[i] = static_cast<std::uint32_t>(x + (borrow << 32));
        }
        r.n_ = a.n_;
        r.trim();
        return r;
    }
    friend num operator*(const num& a, const num& b) {
        num r;
        if (a.zero() || b.zero()) return r;
        r.reserve(a.n_ + b.n_);
        std::memset(r.d_, 0, sizeof(std::uint32_t) * (a.n_ + b.n_));
        for (std::uint32_t i = 0; i < a.n_; ++i) {
            std::uint64_t carry = 0;
            for (std::uint32_t j = 0; j < b.n_; ++j) {
                carry += static_cast<std::uint64_t>(a.d_[i]) * b.d_[j] + r.d_[i + j];
                r.d_[i + j] = static_cast<std::uint32_t>(carry);
                carry >>= 32;
            }
            r.d_[i + b.n_] = static_cast<std::uint32_t>(carry);
        }
        r.n_ = a.n_ + b.n_;
        r.trim();
        return r;
    }
    // Knuth's algorithm D: q = a / b, r = a % b, b != 0.
    friend void divmod(const num& a, const num& b, num& q, num& r) {
        if (b.zero()) fail(name, "division by zero");
        if (compare(a, b) < 0) {
            q = num();
            r = a;
            return;
        }
        if (b.n_ == 1) {
            num qq;
            qq.reserve(a.n_);
            std::uint64_t rem = 0;
            for (std::uint32_t i = a.n_; i-- > 0;) {
                const std::uint64_t cur = (rem << 32) | a.d_[i];
                qq.d_[i] = static_cast<std::uint32_t>(cur / b.d_[0]);
                rem = cur % b.d_[0];
            }
            qq.n_ = a.n_;
            qq.trim();
            q = std::move(qq);
            r = num(rem);
            return;
        }
        const int s = __builtin_clz(b.d_[b.n_ - 1]);
        const std::uint32_t n = b.n_, m = a.n_ - b.n_;
        num v = b.shifted(s), u = a.shifted(s);
        if (u.n_ == a.n_) u.push(0);
        num qq;
        qq.reserve(m + 1);
        for (std::uint32_t j = m + 1; j-- > 0;) {
            const std::uint64_t top = (static_cast<std::uint64_t>(u.d_[j + n]) << 32) | u.d_[j + n - 1];
            std::uint64_t qhat = top / v.d_[n - 1], rhat = top % v.d_[n - 1];
            while (qhat >> 32 || qhat * v.d_[n - 2] > ((rhat << 32) | u.d_[j + n - 2])) {
                --qhat;
                rhat += v.d_[n - 1];
                if (rhat >> 32) break;
            }
            std::int64_t borrow = 0;
            std::uint64_t carry = 0;
            for (std::uint32_t i = 0; i < n; ++i) {
                const std::uint64_t p = qhat * v.d_[i] + carry;
                carry = p >> 32;
                const std::int64_t t = static_cast<std::int64_t>(u.d_[i + j]) - borrow - static_cast<std::uint32_t>(p);
                u.d_[i + j] = static_cast<std::uint32_t>(t);
                borrow = t < 0;
            }
            const std::int64_t t = static_cast<std::int64_t>(u.d_[j + n]) - borrow - static_cast<std::int64_t>(carry);
            u.d_[j + n] = static_cast<std::uint32_t>(t);
            if (t < 0) {  // qhat was one too large: add v back
                --qhat;
                std::uint64_t c = 0;
                for (std::uint32_t i = 0; i < n; ++i) {
                    c += static_cast<std::uint64_t>(u.d_[i + j]) + v.d_[i];
                    u.d_[i + j] = static_cast<std::uint32_t>(c);
                    c >>= 32;
                }
                u.d_[j + n] += static_cast<std::uint32_t>(c);
            }
            qq.d_[j] = static_cast<std::uint32_t>(qhat);
        }
        qq.n_ = m + 1;
        qq.trim();
        q = std::move(qq);
        u.n_ = n;
        u.trim();
        r = u.unshifted(s);
    }

private:
    void reserve(std::uint32_t limbs) {
        d_ = static_cast<std::uint32_t*>(checked_malloc(name, sizeof(std::uint32_t) * (limbs ? limbs : 1)));
        n_ = 0;
    }
    void copy(const num& o) {
        if (o.n_ == 0) return;
        reserve(o.n_);
        std::memcpy(d_, o.d_, sizeof(std::uint32_t) * o.n_);
        n_ = o.n_;
    }
    void trim() {
        while (n_ > 0 && d_[n_ - 1] == 0) --n_;
    }
    void push(std::uint32_t limb) {
        auto* p = static_cast<std::uint32_t*>(std::realloc(d_, sizeof(std::uint32_t) * (n_ + 1)));
        if (p == nullptr) fail(name, "realloc failed");
        d_ = p;
        d_[n_++] = limb;
    }
    // this << s bits, 0 <= s < 32, keeping every limb (no trim).
    num shifted(int s) const {
        num r;
        r.reserve(n_ + 1);
        std::uint32_t carry = 0;
        for (std::uint32_t i = 0; i < n_; ++i) {
            r.d_[i] = (d_[i] << s) | carry;
            carry = s ? d_[i] >> (32 - s) : 0;
        }
        r.n_ = n_;
        if (carry) r.d_[r.n_++] = carry;
        return r;
    }
    num unshifted(int s) const {
        num r;
        r.reserve(n_);
        for (std::uint32_t i = 0; i < n_; ++i) r.d_[i] = (d_[i] >> s) | (s && i + 1 < n_ ? d_[i + 1] << (32 - s) : 0);
        r.n_ = n_;
        r.trim();
        return r;
    }

    std::uint32_t* d_ = nullptr;  // n_ limbs (a malloc block), or nullptr when empty
    std::uint32_t n_ = 0;         // no leading zero limb
};

num operator/(const num& a, const num& b) {
    num q, r;
    divmod(a, b, q, r);
    return q;
}
num operator%(const num& a, const num& b) {
    num q, r;
    divmod(a, b, q, r);
    return r;
}

num parse(const char* s) {
    num r(0), ten(10);
    for (; *s; ++s) r = r * ten + num(static_cast<std::uint64_t>(*s - '0'));
    return r;
}

num isqrt(const num& n) {
    num x = n, one(1), two(2);
    num y = (x + one) / two;
    while (compare(y, x) < 0) {
        x = y;
        y = (x + n / x) / two;
    }
    return x;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const long long steps = o.count(2'000'000, 1000);
    // A product of two primes of 28 and 30 digits (it need not factor here: the steps are the work).
    const num N = parse("5288344617839441537426447212217063154217611103897");
    const num a0 = isqrt(N);
    if (compare(a0 * a0, N) > 0 || compare((a0 + num(1)) * (a0 + num(1)), N) <= 0) fail(name, "isqrt is wrong");
    const num two_a0 = a0 + a0;
    num m(0), d(1), a = a0;
    num p_prev(1), p = a0 % N;  // p_{-1} = 1, p_0 = a0
    long long checked = 0;
    for (long long k = 1; k <= steps; ++k) {
        num m_next = d * a - m;
        num q, rem;
        divmod(N - m_next * m_next, d, q, rem);
        if (!rem.zero()) fail(name, "step %lld: d does not divide N - m^2", k);
        num d_next = std::move(q);
        if (d_next.zero() || compare(d_next, two_a0) > 0) fail(name, "step %lld: d out of range", k);
        num a_next = (a0 + m_next) / d_next;
        // p_{k-1}^2 = (-1)^k d_k (mod N)
        num sq = (p * p) % N;
        const num expect = (k % 2 == 0) ? d_next % N : N - d_next % N;
        if (compare(sq, expect) != 0) fail(name, "step %lld: p^2 != (-1)^k d (mod N)", k);
        ++checked;
        num p_next = (a_next * p + p_prev) % N;
        p_prev = std::move(p);
        p = std::move(p_next);
        m = std::move(m_next);
        d = std::move(d_next);
        a = std::move(a_next);
    }
    result("steps", checked);
    return 0;
}
