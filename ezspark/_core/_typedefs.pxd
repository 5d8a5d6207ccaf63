# Fixed-width scalar types shared by every kernel in ezspark._core.
#
# Stored arrays use the fixed-width types; intp_t is only for indexing and loop counters.
# Typed memoryviews match integer buffers by size and signedness, so an int64_t view accepts
# numpy int64 and, on 64-bit platforms, numpy intp.

ctypedef double float64_t
ctypedef signed int int32_t
ctypedef signed long long int64_t
ctypedef unsigned char uint8_t
ctypedef Py_ssize_t intp_t
