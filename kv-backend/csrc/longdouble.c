/* INCRBYFLOAT / HINCRBYFLOAT arithmetic in C's long double, which is what
 * Redis uses: the sum and its "%.17Lf" rendering only match Redis' replies
 * byte for byte when done in the same type. Rust has no long double. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds two decimal strings (already validated by the caller) and writes the
 * result as Redis' ld2string(LD_STR_HUMAN) does. Returns the length, -1 if
 * the result is NaN or infinite, -2 if it does not fit in `cap`. */
int kv_ld_add(const char *a, const char *b, char *out, int cap) {
    long double x = strtold(a, NULL);
    long double y = strtold(b, NULL);
    long double r = x + y;
    if (isnan(r) || isinf(r)) return -1;
    int l = snprintf(out, (size_t)cap, "%.17Lf", r);
    if (l < 0 || l + 1 > cap) return -2;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    out[l] = '\0';
    return l;
}
