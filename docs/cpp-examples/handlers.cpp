// handlers.cpp: classes with virtual functions, and std::unique_ptr to own
// an object of a class chosen at run time. Lesson 15's socketserver is built
// so: a server calls handle() on a handler object, your subclass says what
// it does (Python: class EchoHandler(BaseRequestHandler): def handle(self)).
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror handlers.cpp -o handlers
#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

class BaseRequestHandler {
  public:
    explicit BaseRequestHandler(std::string request) : request_(std::move(request)) {}
    // A class meant to be derived from needs a virtual destructor, so that
    // deleting it through a base pointer runs the subclass's destructor too.
    virtual ~BaseRequestHandler() = default;

    // virtual: calls go to the subclass's version. `= 0`: there is no base
    // version, every subclass must write one (Python raises NotImplementedError).
    virtual std::string handle() = 0;

  protected:  // visible to subclasses, not to the rest of the program
    std::string request_;
};

class EchoHandler : public BaseRequestHandler {
  public:
    using BaseRequestHandler::BaseRequestHandler;  // take over the constructor
    // override: the compiler checks that this really replaces a virtual
    // function (a typo in the name or the parameters is an error).
    std::string handle() override { return request_; }
};

class UpperHandler : public BaseRequestHandler {
  public:
    using BaseRequestHandler::BaseRequestHandler;
    std::string handle() override {
        std::string reply = request_;
        std::transform(reply.begin(), reply.end(), reply.begin(),
                       [](unsigned char c) { return std::toupper(c); });
        return reply;
    }
};

// std::unique_ptr<T> owns one object on the heap and deletes it at the end
// of its scope (RAII again); std::make_unique creates it. No `delete`.
std::unique_ptr<BaseRequestHandler> make_handler(const std::string& kind,
                                                 const std::string& request) {
    if (kind == "upper") return std::make_unique<UpperHandler>(request);
    return std::make_unique<EchoHandler>(request);
}

int main() {
    for (const char* kind : {"echo", "upper"}) {
        std::unique_ptr<BaseRequestHandler> handler = make_handler(kind, "hello");
        std::cout << kind << ": " << handler->handle() << '\n';
    }  // each handler is deleted here, through the virtual destructor
    return 0;
}

// It prints:
// echo: hello
// upper: HELLO
