// SKELETON: owned by the engine-format task.
int main() { return 0; }
