// SKELETON: owned by the runtime task.
int main() { return 0; }
