/* Force-included (-include) into the "newer" library of test_abi: five more
 * 8-byte members at the end of every sized struct. */
#define SL__ABI_TEST_TAIL uint64_t sl__test_tail[5];
