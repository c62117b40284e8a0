// lambda.cpp: a lambda is a function written where it is used, like Python's
// lambda or a nested def; its [capture] says which local variables it may use.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror lambda.cpp -o lambda
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>

// Like course::run_main(): runs the program's body, turns an exception into
// "error: ..." and an exit status (the real one writes to std::cerr).
// std::function<int()> holds any callable that takes nothing, returns an int.
int run_main(const std::function<int()>& body) {
    try {
        return body();
    } catch (const std::exception& error) {
        std::cout << "error: " << error.what() << '\n';
        return 1;
    }
}

int main() {
    int port = 8001;
    std::string host = "127.0.0.1";

    // [&]: use main()'s variables themselves (by reference), as the lessons'
    // main() does: `return course::run_main(app, argc, argv, [&] { ... });`
    int status = run_main([&] {
        port += 1;  // changes main()'s `port`
        std::cout << "serving on " << host << ':' << port << '\n';
        return 0;
    });
    std::cout << "status " << status << ", port is now " << port << '\n';

    // [=]: copies, taken when the lambda is made.
    auto show = [=] { std::cout << "copied port: " << port << '\n'; };
    port = 9000;
    show();  // still 8002

    // [name = expression]: a new variable of the lambda's own. With std::move,
    // the lambda takes over a value (a thread takes over its client socket so).
    std::string message = "hello";
    auto owner = [text = std::move(message)] { return text.size(); };
    std::cout << "the lambda owns " << owner() << " bytes\n";

    // A lambda with parameters, and an error that run_main() reports.
    auto check = [](int result, const std::string& what) {
        if (result < 0) throw std::runtime_error(what + " failed");
        return result;
    };
    status = run_main([&] { return check(-1, "bind"); });
    std::cout << "status " << status << '\n';
    return 0;
}

// It prints:
// serving on 127.0.0.1:8002
// status 0, port is now 8002
// copied port: 8002
// the lambda owns 5 bytes
// error: bind failed
// status 1
