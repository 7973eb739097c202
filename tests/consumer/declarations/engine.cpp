// The one file of the program that compiles albertner's engine (Tagger<> and everything it
// runs); the other files see declarations only.
#define ALBERTNER_IMPLEMENTATION
#include <albertner/albertner.hpp>
