/* spanlog-pipe: built in full by the core work; placeholder main keeps the tree building. */
int main(void)
{
    return 0;
}
