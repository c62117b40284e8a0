// templates.cpp: a template is code written once for any type that has what
// the code uses: Python's duck typing, checked when compiling.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror templates.cpp -o templates
#include <iostream>
#include <string>
#include <vector>

// A function template. The compiler writes one largest() per type it is
// called with: int, std::string... any type that has `<`.
template <typename T>
T largest(const std::vector<T>& values) {
    T best = values.front();
    for (const T& value : values)
        if (best < value) best = value;
    return best;
}

// A template parameter can be any callable: a lambda, a function. Lesson 17's
// accept_waiting(listener, pause, add) takes the "what to do with each new
// client" part so, and the compiler can inline it.
template <typename Add>
void accept_all(const std::vector<int>& waiting, Add add) {
    for (int client : waiting)
        add(client);
}

// A class template that derives from its parameter: lesson 15's
// ThreadingMixIn<Server> adds "a thread per request" to any server class.
class TCPServer {
  public:
    virtual ~TCPServer() = default;
    virtual void process_request(int client) { std::cout << "serve " << client << '\n'; }
};

template <typename Server>
class LoggingMixIn : public Server {
  public:
    void process_request(int client) override {
        std::cout << "log: request " << client << '\n';
        Server::process_request(client);  // then what the server itself does
    }
};

using LoggingTCPServer = LoggingMixIn<TCPServer>;  // a name for one instance

int main() {
    std::cout << largest(std::vector<int>{3, 9, 4}) << '\n';
    std::cout << largest(std::vector<std::string>{"pear", "apple", "plum"}) << '\n';

    std::vector<int> served;
    accept_all({4, 5}, [&](int client) { served.push_back(client); });
    std::cout << "added " << served.size() << " clients\n";

    LoggingTCPServer server;
    server.process_request(7);
    return 0;
}

// It prints:
// 9
// plum
// added 2 clients
// log: request 7
// serve 7
