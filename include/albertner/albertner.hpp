// The whole public API of albertner in one include: #include <albertner/albertner.hpp>
#pragma once

#include "status.hpp"
#include "tensor.hpp"
#include "config.hpp"
