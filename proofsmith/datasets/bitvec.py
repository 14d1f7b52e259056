"""`bitvec`: bit-manipulation and integer synthesis tasks for the SMT checker.

Written for proofsmith, under the project's licence (Apache-2.0), in the
style of the classic Hacker's Delight synthesis benchmarks: turn off the
rightmost 1-bit, absolute value without branches, average without overflow,
and so on. Each task has a specification (an SMT-LIB formula over the
parameters and `result`, stated independently of the reference where a
natural statement exists) and a reference implementation in the supported
Python subset; the tests check that every reference verifies against its spec.

The prompt is a Python signature and docstring saying the widths (see
`proofsmith.provers.smt` for the semantics: the result is taken mod 2**w) and
two examples computed from the reference.
"""

from __future__ import annotations

from typing import NamedTuple

from proofsmith.schema import Limits, Source, Task

VERSION = "1"
SOURCE = Source(benchmark="proofsmith-bitvec", version=VERSION, licence="Apache-2.0")


class Spec(NamedTuple):
    """One task as written here."""

    name: str
    params: list[tuple[str, str]]
    result: str
    doc: str
    spec: str
    reference: str
    examples: list[tuple[int, ...]]
    precondition: str | None = None


def _b(value: int, width: int = 32) -> str:
    return f"(_ bv{value % (1 << width)} {width})"


def _ext(var: str, by: int = 1, signed: bool = False) -> str:
    return f"((_ {'sign' if signed else 'zero'}_extend {by}) {var})"


_ZERO, _ONE = _b(0), _b(1)

SPECS: list[Spec] = [
    Spec("turn_off_rightmost_one", [("x", "u32")], "u32",
         "Return x with its rightmost 1-bit turned off (0 stays 0).",
         "(= result (bvsub x (bvand x (bvneg x))))",
         "def turn_off_rightmost_one(x):\n    return x & (x - 1)\n", [(0b101100,), (0,)]),
    Spec("isolate_rightmost_one", [("x", "u32")], "u32",
         "Return a word with only the rightmost 1-bit of x set (0 if x is 0).",
         f"(and (= (bvand result (bvsub result {_ONE})) {_ZERO}) (= (bvand result x) result) "
         f"(= (bvand x (bvsub result {_ONE})) {_ZERO}) (=> (distinct x {_ZERO}) (distinct result {_ZERO})))",
         "def isolate_rightmost_one(x):\n    return x & -x\n", [(0b101100,), (7,)]),
    Spec("isolate_rightmost_zero", [("x", "u32")], "u32",
         "Return a word with only the rightmost 0-bit of x set (0 if x has no 0-bit).",
         f"(= result (bvand (bvnot x) (bvadd x {_ONE})))",
         "def isolate_rightmost_zero(x):\n    return ~x & (x + 1)\n", [(0b100111,), (0,)]),
    Spec("turn_on_rightmost_zero", [("x", "u32")], "u32",
         "Return x with its rightmost 0-bit turned on (all ones stays all ones).",
         f"(= result (bvor x (bvadd x {_ONE})))",
         "def turn_on_rightmost_zero(x):\n    return x | (x + 1)\n", [(0b100111,), (0b1010,)]),
    Spec("turn_off_trailing_ones", [("x", "u32")], "u32",
         "Return x with its trailing 1-bits (the 1s below the rightmost 0) turned off.",
         f"(= result (bvand x (bvadd x {_ONE})))",
         "def turn_off_trailing_ones(x):\n    return x & (x + 1)\n", [(0b100111,), (0b1010,)]),
    Spec("turn_on_trailing_zeros", [("x", "u32")], "u32",
         "Return x with its trailing 0-bits turned on (0 becomes all ones).",
         f"(= result (bvor x (bvsub x {_ONE})))",
         "def turn_on_trailing_zeros(x):\n    return x | (x - 1)\n", [(0b101000,), (1,)]),
    Spec("mask_trailing_zeros", [("x", "u32")], "u32",
         "Return a mask with 1s exactly at the trailing 0-bits of x (all ones if x is 0).",
         f"(= result (bvand (bvnot x) (bvsub x {_ONE})))",
         "def mask_trailing_zeros(x):\n    return ~x & (x - 1)\n", [(0b101000,), (1,)]),
    Spec("mask_up_to_rightmost_one", [("x", "u32")], "u32",
         "Return a mask of the rightmost 1-bit of x and all the 0-bits below it (all ones if x is 0).",
         f"(= result (bvxor x (bvsub x {_ONE})))",
         "def mask_up_to_rightmost_one(x):\n    return x ^ (x - 1)\n", [(0b101000,), (1,)]),
    Spec("mask_up_to_rightmost_zero", [("x", "u32")], "u32",
         "Return a mask of the rightmost 0-bit of x and all the 1-bits below it.",
         f"(= result (bvxor x (bvadd x {_ONE})))",
         "def mask_up_to_rightmost_zero(x):\n    return x ^ (x + 1)\n", [(0b100111,), (0,)]),
    Spec("is_power_of_two", [("x", "u32")], "bool",
         "Return True when x is a power of two (exactly one bit set).",
         "(= result (or " + " ".join(f"(= x {_b(1 << k)})" for k in range(32)) + "))",
         "def is_power_of_two(x):\n    return x != 0 and x & (x - 1) == 0\n", [(64,), (96,)]),
    Spec("abs_value", [("x", "i32")], "i32",
         "Return the absolute value of x without branches (the minimum int stays itself, mod 2**32).",
         f"(= result (ite (bvslt x {_ZERO}) (bvneg x) x))",
         "def abs_value(x):\n    s = x >> 31\n    return (x ^ s) - s\n", [(-5,), (7,)]),
    Spec("negative_abs", [("x", "i32")], "i32",
         "Return minus the absolute value of x.",
         f"(= result (ite (bvslt x {_ZERO}) x (bvneg x)))",
         "def negative_abs(x):\n    s = x >> 31\n    return s - (x ^ s)\n", [(-5,), (7,)]),
    Spec("sign", [("x", "i32")], "i32",
         "Return -1, 0 or 1 as x is negative, zero or positive.",
         f"(= result (ite (bvslt x {_ZERO}) {_b(-1)} (ite (= x {_ZERO}) {_ZERO} {_ONE})))",
         "def sign(x):\n    return (x > 0) - (x < 0)\n", [(-9,), (4,)]),
    Spec("average_floor", [("x", "u32"), ("y", "u32")], "u32",
         "Return the average of x and y rounded down, as if computed without overflow.",
         f"(= {_ext('result')} (bvlshr (bvadd {_ext('x')} {_ext('y')}) {_b(1, 33)}))",
         "def average_floor(x, y):\n    return (x & y) + ((x ^ y) >> 1)\n", [(6, 9), (4000000000, 4000000002)]),
    Spec("average_ceil", [("x", "u32"), ("y", "u32")], "u32",
         "Return the average of x and y rounded up, as if computed without overflow.",
         f"(= {_ext('result')} (bvlshr (bvadd (bvadd {_ext('x')} {_ext('y')}) {_b(1, 33)}) {_b(1, 33)}))",
         "def average_ceil(x, y):\n    return (x | y) - ((x ^ y) >> 1)\n", [(6, 9), (4000000000, 4000000003)]),
    Spec("signed_average_floor", [("x", "i32"), ("y", "i32")], "i32",
         "Return the average of the signed ints x and y rounded towards minus infinity, without overflow.",
         f"(= {_ext('result', signed=True)} (bvashr (bvadd {_ext('x', signed=True)} {_ext('y', signed=True)}) "
         f"{_b(1, 33)}))",
         "def signed_average_floor(x, y):\n    return (x & y) + ((x ^ y) >> 1)\n", [(-7, 2), (5, 8)]),
    Spec("max_unsigned", [("x", "u32"), ("y", "u32")], "u32",
         "Return the larger of x and y.",
         "(= result (ite (bvuge x y) x y))",
         "def max_unsigned(x, y):\n    return x ^ ((x ^ y) & -(x < y))\n", [(3, 10), (10, 3)]),
    Spec("min_unsigned", [("x", "u32"), ("y", "u32")], "u32",
         "Return the smaller of x and y.",
         "(= result (ite (bvule x y) x y))",
         "def min_unsigned(x, y):\n    return y ^ ((x ^ y) & -(x < y))\n", [(3, 10), (10, 3)]),
    Spec("max_signed", [("x", "i32"), ("y", "i32")], "i32",
         "Return the larger of the signed ints x and y.",
         "(= result (ite (bvsge x y) x y))",
         "def max_signed(x, y):\n    return x if x >= y else y\n", [(-3, 2), (5, -8)]),
    Spec("min_signed", [("x", "i32"), ("y", "i32")], "i32",
         "Return the smaller of the signed ints x and y.",
         "(= result (ite (bvsle x y) x y))",
         "def min_signed(x, y):\n    return y + ((x - y) & ((x - y) >> 40))\n", [(-3, 2), (5, -8)]),
    Spec("difference_or_zero", [("x", "u32"), ("y", "u32")], "u32",
         "Return x - y when x >= y, else 0.",
         f"(= result (ite (bvuge x y) (bvsub x y) {_ZERO}))",
         "def difference_or_zero(x, y):\n    return (x - y) & -(x >= y)\n", [(10, 3), (3, 10)]),
    Spec("abs_difference", [("x", "u32"), ("y", "u32")], "u32",
         "Return |x - y|.",
         "(= result (ite (bvuge x y) (bvsub x y) (bvsub y x)))",
         "def abs_difference(x, y):\n    return x - y if x > y else y - x\n", [(10, 3), (3, 10)]),
    Spec("swap_halves", [("x", "u32")], "u32",
         "Return x with its high and low 16-bit halves swapped.",
         "(= result (concat ((_ extract 15 0) x) ((_ extract 31 16) x)))",
         "def swap_halves(x):\n    return (x << 16) | (x >> 16)\n", [(0x12345678,), (1,)]),
    Spec("byte_swap", [("x", "u32")], "u32",
         "Return x with its four bytes in reverse order.",
         "(= result (concat ((_ extract 7 0) x) ((_ extract 15 8) x) ((_ extract 23 16) x) ((_ extract 31 24) x)))",
         "def byte_swap(x):\n    return ((x & 0xFF) << 24) | ((x & 0xFF00) << 8) | ((x >> 8) & 0xFF00) | (x >> 24)\n",
         [(0x12345678,), (0xFF,)]),
    Spec("rotate_left", [("x", "u32"), ("k", "u5")], "u32",
         "Return x rotated left by k bits (0 <= k < 32).",
         f"(= result (bvor (bvshl x {_ext('k', 27)}) (bvlshr x (bvsub {_b(32)} {_ext('k', 27)}))))",
         "def rotate_left(x, k):\n    return (x << k) | (x >> (32 - k))\n", [(0x80000001, 1), (0xF0, 4)]),
    Spec("rotate_right", [("x", "u32"), ("k", "u5")], "u32",
         "Return x rotated right by k bits (0 <= k < 32).",
         f"(= result (bvor (bvlshr x {_ext('k', 27)}) (bvshl x (bvsub {_b(32)} {_ext('k', 27)}))))",
         "def rotate_right(x, k):\n    return (x >> k) | (x << (32 - k))\n", [(0x80000001, 1), (0xF0, 4)]),
    Spec("popcount8", [("x", "u8")], "u8",
         "Return the number of 1-bits in the byte x.",
         "(= result (bvadd " + " ".join(f"((_ zero_extend 7) ((_ extract {i} {i}) x))" for i in range(8)) + "))",
         "def popcount8(x):\n    x = x - ((x >> 1) & 0x55)\n    x = (x & 0x33) + ((x >> 2) & 0x33)\n"
         "    return (x + (x >> 4)) & 0x0F\n", [(0b10110110,), (255,)]),
    Spec("parity8", [("x", "u8")], "bool",
         "Return True when the byte x has an odd number of 1-bits.",
         "(= result (= #b1 (bvxor " + " ".join(f"((_ extract {i} {i}) x)" for i in range(8)) + ")))",
         "def parity8(x):\n    x ^= x >> 4\n    x ^= x >> 2\n    x ^= x >> 1\n    return (x & 1) == 1\n",
         [(0b1011,), (0b11,)]),
    Spec("reverse_bits8", [("x", "u8")], "u8",
         "Return the byte x with its bits in reverse order.",
         "(= result (concat " + " ".join(f"((_ extract {i} {i}) x)" for i in range(8)) + "))",
         "def reverse_bits8(x):\n    x = ((x & 0xF0) >> 4) | ((x & 0x0F) << 4)\n"
         "    x = ((x & 0xCC) >> 2) | ((x & 0x33) << 2)\n    return ((x & 0xAA) >> 1) | ((x & 0x55) << 1)\n",
         [(0b00000001,), (0b11010000,)]),
    Spec("next_power_of_two", [("x", "u16")], "u16",
         "Return the least power of two >= x; 0 when x is 0 or when that power does not fit in 16 bits.",
         "(ite (or (= x #x0000) (bvugt x #x8000)) (= result #x0000) (and (= (bvand result (bvsub result #x0001)) "
         "#x0000) (distinct result #x0000) (bvuge result x) (bvult (bvlshr result #x0001) x)))",
         "def next_power_of_two(x):\n    x = x - 1\n    x = x | (x >> 1)\n    x = x | (x >> 2)\n    x = x | (x >> 4)\n"
         "    x = x | (x >> 8)\n    return x + 1\n", [(37,), (64,)]),
    Spec("floor_power_of_two", [("x", "u16")], "u16",
         "Return the greatest power of two <= x (0 when x is 0).",
         "(ite (= x #x0000) (= result #x0000) (and (= (bvand result (bvsub result #x0001)) #x0000) "
         "(distinct result #x0000) (bvule result x) (bvugt (bvshl ((_ zero_extend 1) result) #b00000000000000001) ((_ zero_extend 1) x))))",
         "def floor_power_of_two(x):\n    x = x | (x >> 1)\n    x = x | (x >> 2)\n    x = x | (x >> 4)\n"
         "    x = x | (x >> 8)\n    return x - (x >> 1)\n", [(37,), (64,)]),
    Spec("smear_right", [("x", "u32")], "u32",
         "Return x with every bit below its highest 1-bit turned on.",
         f"(and (= (bvand result (bvadd result {_ONE})) {_ZERO}) (bvuge result x) "
         f"(or (= result {_ZERO}) (bvult (bvlshr result {_ONE}) x)))",
         "def smear_right(x):\n    x |= x >> 1\n    x |= x >> 2\n    x |= x >> 4\n    x |= x >> 8\n    x |= x >> 16\n"
         "    return x\n", [(0b100100,), (0,)]),
    Spec("count_trailing_zeros16", [("x", "u16")], "u16",
         "Return the number of 0-bits below the lowest 1-bit of x (16 when x is 0).",
         "(ite (= x #x0000) (= result #x0010) (and (bvult result #x0010) (= (bvand x (bvsub (bvshl #x0001 result) "
         "#x0001)) #x0000) (= (bvand (bvlshr x result) #x0001) #x0001)))",
         "def count_trailing_zeros16(x):\n    if x == 0:\n        return 16\n    n = 0\n    if (x & 0xFF) == 0:\n"
         "        n += 8\n        x >>= 8\n    if (x & 0xF) == 0:\n        n += 4\n        x >>= 4\n    if (x & 0x3) == 0:\n"
         "        n += 2\n        x >>= 2\n    if (x & 0x1) == 0:\n        n += 1\n    return n\n", [(40,), (1,)]),
    Spec("count_leading_zeros16", [("x", "u16")], "u16",
         "Return the number of 0-bits above the highest 1-bit of x in a 16-bit word (16 when x is 0).",
         "(ite (= x #x0000) (= result #x0010) (and (bvult result #x0010) (= (bvlshr x (bvsub #x0010 result)) #x0000) "
         "(= (bvand (bvlshr x (bvsub #x000f result)) #x0001) #x0001)))",
         "def count_leading_zeros16(x):\n    if x == 0:\n        return 16\n    n = 0\n    if x <= 0x00FF:\n"
         "        n += 8\n        x <<= 8\n    if x <= 0x0FFF:\n        n += 4\n        x <<= 4\n    if x <= 0x3FFF:\n"
         "        n += 2\n        x <<= 2\n    if x <= 0x7FFF:\n        n += 1\n    return n\n", [(40,), (0x8000,)]),
    Spec("sign_extend_byte", [("x", "u32")], "u32",
         "Return the low byte of x sign-extended to 32 bits (its higher bits are ignored).",
         "(= result ((_ sign_extend 24) ((_ extract 7 0) x)))",
         "def sign_extend_byte(x):\n    return ((x & 0xFF) ^ 0x80) - 0x80\n", [(0x17F,), (0x80,)]),
    Spec("set_bit", [("x", "u32"), ("k", "u5")], "u32",
         "Return x with bit k turned on (bit 0 is the least significant).",
         f"(= result (bvor x (bvshl {_ONE} {_ext('k', 27)})))",
         "def set_bit(x, k):\n    return x | (1 << k)\n", [(0b1000, 1), (5, 0)]),
    Spec("clear_bit", [("x", "u32"), ("k", "u5")], "u32",
         "Return x with bit k turned off (bit 0 is the least significant).",
         f"(= result (bvand x (bvnot (bvshl {_ONE} {_ext('k', 27)}))))",
         "def clear_bit(x, k):\n    return x & ~(1 << k)\n", [(0b1010, 1), (5, 1)]),
    Spec("toggle_bit", [("x", "u32"), ("k", "u5")], "u32",
         "Return x with bit k flipped (bit 0 is the least significant).",
         f"(= result (bvxor x (bvshl {_ONE} {_ext('k', 27)})))",
         "def toggle_bit(x, k):\n    return x ^ (1 << k)\n", [(0b1010, 1), (5, 2)]),
    Spec("test_bit", [("x", "u32"), ("k", "u5")], "bool",
         "Return True when bit k of x is 1 (bit 0 is the least significant).",
         f"(= result (= ((_ extract 0 0) (bvlshr x {_ext('k', 27)})) #b1))",
         "def test_bit(x, k):\n    return ((x >> k) & 1) == 1\n", [(0b1010, 1), (0b1010, 2)]),
    Spec("has_zero_byte", [("x", "u32")], "bool",
         "Return True when one of the four bytes of x is zero.",
         "(= result (or (= ((_ extract 7 0) x) #x00) (= ((_ extract 15 8) x) #x00) (= ((_ extract 23 16) x) #x00) "
         "(= ((_ extract 31 24) x) #x00)))",
         "def has_zero_byte(x):\n    return ((x - 0x01010101) & ~x & 0x80808080) != 0\n", [(0x11002233,), (0x11223344,)]),
    Spec("same_sign", [("x", "i32"), ("y", "i32")], "bool",
         "Return True when x and y are both negative or both non-negative.",
         f"(= result (= (bvslt x {_ZERO}) (bvslt y {_ZERO})))",
         "def same_sign(x, y):\n    return (x ^ y) >= 0\n", [(-3, -8), (3, -8)]),
    Spec("signed_add_overflows", [("x", "i32"), ("y", "i32")], "bool",
         "Return True when x + y does not fit in a signed 32-bit int.",
         f"(= result (let ((s (bvadd {_ext('x', signed=True)} {_ext('y', signed=True)}))) "
         f"(distinct s ((_ sign_extend 1) ((_ extract 31 0) s)))))",
         "def signed_add_overflows(x, y):\n    s = (x + y) & 0xFFFFFFFF\n    return ((((x ^ s) & (y ^ s)) >> 31) & 1) == 1\n",
         [(2147483647, 1), (-5, 3)]),
    Spec("unsigned_add_carries", [("x", "u32"), ("y", "u32")], "bool",
         "Return True when x + y does not fit in an unsigned 32-bit int.",
         "(= result (= ((_ extract 32 32) (bvadd ((_ zero_extend 1) x) ((_ zero_extend 1) y))) #b1))",
         "def unsigned_add_carries(x, y):\n    return (x + y) >> 32 == 1\n", [(4294967295, 1), (5, 3)]),
    Spec("saturating_add8", [("x", "u8"), ("y", "u8")], "u8",
         "Return x + y, or 255 when the sum does not fit in a byte.",
         "(= result (let ((s (bvadd ((_ zero_extend 1) x) ((_ zero_extend 1) y)))) "
         "(ite (bvugt s #b011111111) #xff ((_ extract 7 0) s))))",
         "def saturating_add8(x, y):\n    s = x + y\n    return s | -(s >> 8)\n", [(200, 100), (20, 30)]),
    Spec("saturating_sub8", [("x", "u8"), ("y", "u8")], "u8",
         "Return x - y, or 0 when y > x.",
         "(= result (ite (bvuge x y) (bvsub x y) #x00))",
         "def saturating_sub8(x, y):\n    return max(x - y, 0)\n", [(200, 100), (20, 30)]),
    Spec("gray_encode", [("x", "u32")], "u32",
         "Return the Gray code of x (adjacent values differ in one bit).",
         f"(= result (bvxor x (bvlshr x {_ONE})))",
         "def gray_encode(x):\n    return x ^ (x >> 1)\n", [(5,), (6,)]),
    Spec("gray_decode8", [("x", "u8")], "u8",
         "Return the byte whose Gray code is x.",
         "(= x (bvxor result (bvlshr result #x01)))",
         "def gray_decode8(x):\n    x ^= x >> 1\n    x ^= x >> 2\n    x ^= x >> 4\n    return x\n", [(7,), (4,)]),
    Spec("low_bits_mask", [("k", "u6")], "u32",
         "Return a word whose k lowest bits are 1 and the others 0 (0 <= k <= 32).",
         f"(= result (bvsub (bvshl {_ONE} {_ext('k', 26)}) {_ONE}))",
         "def low_bits_mask(k):\n    return (1 << k) - 1\n", [(3,), (32,)], precondition="(bvule k #b100000)"),
    Spec("round_up_to_8", [("x", "u32")], "u32",
         "Return the least multiple of 8 that is >= x (mod 2**32).",
         f"(= result (bvmul (bvudiv (bvadd x {_b(7)}) {_b(8)}) {_b(8)}))",
         "def round_up_to_8(x):\n    return (x + 7) & ~7\n", [(13,), (16,)],
         precondition=f"(bvule x {_b(0xFFFFFFF8)})"),
    Spec("round_down_to_8", [("x", "u32")], "u32",
         "Return the greatest multiple of 8 that is <= x.",
         f"(= result (bvmul (bvudiv x {_b(8)}) {_b(8)}))",
         "def round_down_to_8(x):\n    return x & ~7\n", [(13,), (16,)]),
    Spec("extract_byte", [("x", "u32"), ("i", "u2")], "u32",
         "Return byte i of x (byte 0 is the least significant) as a number 0..255.",
         f"(= result (bvand (bvlshr x (bvmul {_ext('i', 30)} {_b(8)})) {_b(255)}))",
         "def extract_byte(x, i):\n    return (x >> (8 * i)) & 0xFF\n", [(0x12345678, 1), (0x12345678, 3)]),
    Spec("clamp_percent", [("x", "int")], "int",
         "Return x clamped into the range 0..100.",
         "(= result (ite (< x 0) 0 (ite (> x 100) 100 x)))",
         "def clamp_percent(x):\n    return max(0, min(x, 100))\n", [(-4,), (150,)]),
    Spec("median3", [("a", "int"), ("b", "int"), ("c", "int")], "int",
         "Return the median of a, b and c.",
         "(and (or (= result a) (= result b) (= result c)) (<= (+ (ite (< a result) 1 0) (ite (< b result) 1 0) "
         "(ite (< c result) 1 0)) 1) (<= (+ (ite (> a result) 1 0) (ite (> b result) 1 0) (ite (> c result) 1 0)) 1))",
         "def median3(a, b, c):\n    return max(min(a, b), min(max(a, b), c))\n", [(3, 1, 2), (5, 9, 7)]),
    Spec("ceil_div8", [("x", "int")], "int",
         "Return x / 8 rounded up (towards plus infinity).",
         "(and (>= (* 8 result) x) (< (* 8 (- result 1)) x))",
         "def ceil_div8(x):\n    return -(-x // 8)\n", [(17,), (-17,)]),
    Spec("is_even", [("x", "int")], "bool",
         "Return True when x is even.",
         "(= result (= (mod x 2) 0))",
         "def is_even(x):\n    return x % 2 == 0\n", [(4,), (-3,)]),
    Spec("mod12_plus", [("x", "int"), ("y", "int")], "int",
         "Return the remainder of x divided by 12 (always in 0..11), plus y.",
         "(= result (+ (mod x 12) y))",
         "def mod12_plus(x, y):\n    return x % 12 + y\n", [(-5, 1), (29, 0)]),
]


def _python_type(sort: str) -> str:
    return "bool" if sort == "bool" else "int"


def _describe(name: str, sort: str) -> str:
    if sort == "int":
        return f"{name} is an int"
    if sort == "bool":
        return f"{name} is a bool"
    w = int(sort[1:])
    if sort[0] == "u":
        return f"{name} is an unsigned {w}-bit int (0 <= {name} < 2**{w})"
    return f"{name} is a signed {w}-bit int (-2**{w - 1} <= {name} < 2**{w - 1})"


def _normalise(value: int | bool, sort: str) -> int | bool:
    from proofsmith.provers.smt import normalise

    out = normalise(value, sort)
    assert out is not None
    return out


def _statement(spec: Spec) -> str:
    args = ", ".join(f"{n}: {_python_type(s)}" for n, s in spec.params)
    facts = "; ".join(_describe(n, s) for n, s in spec.params)
    if spec.result[0] in "ui" and spec.result != "int":
        w = int(spec.result[1:])
        facts += f". The result is taken modulo 2**{w}"
    namespace: dict[str, object] = {}
    exec(compile(spec.reference, spec.name, "exec"), namespace)  # noqa: S102 - the project's own reference
    function = namespace[spec.name]
    examples = "".join(f"    >>> {spec.name}({', '.join(map(str, ex))})\n    "
                       f"{_normalise(function(*ex), spec.result)!r}\n" for ex in spec.examples)  # type: ignore[operator]
    return (f"def {spec.name}({args}) -> {_python_type(spec.result)}:\n"
            f'    """{spec.doc}\n\n    {facts}.\n    Use arithmetic, bitwise operators, comparisons and if/else; '
            f'no loops.\n\n{examples}    """\n')


def to_task(spec: Spec) -> Task:
    """One suite entry as a Task for the SMT checker."""
    options: dict[str, object] = {"params": [list(p) for p in spec.params], "result": spec.result, "spec": spec.spec}
    if spec.precondition:
        options["precondition"] = spec.precondition
    return Task(id=f"bitvec/{spec.name}", language="smt", kind="program", statement=_statement(spec),
                entry_point=spec.name, reference=spec.reference, options=options,
                limits=Limits(wall_s=10.0, cpu_s=10.0, memory_mb=1024), source=SOURCE)


def load_tasks() -> list[Task]:
    """The whole suite, in a fixed order."""
    return [to_task(s) for s in SPECS]
